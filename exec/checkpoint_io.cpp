#include "exec/checkpoint_io.hpp"

#include <fstream>
#include <iterator>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "exec/checkpoint.hpp"
#include "input/json_file.hpp"

namespace resist::exec {

namespace fs = std::filesystem;

std::vector<char> torch_save_bytes(const c10::IValue& value) {
  // torch::pickle_save tags every dictionary with its TorchScript type, which Python's
  // weights_only unpickler refuses (torch.jit._pickle.restore_type_tag); this pickler leaves them
  // plain. The archive around it is what torch::pickle_save and torch.save write.
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* bytes, std::size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr,
                              /*memoized_class_types=*/nullptr, /*get_tensor_id=*/nullptr,
                              /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::vector<char> file;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t n) {
    const char* bytes = static_cast<const char*>(data);
    file.insert(file.end(), bytes, bytes + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return file;
}

c10::impl::GenericDict read_torch_dict(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open checkpoint file", file.string()));
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    const c10::IValue value = torch::pickle_load(bytes);
    if (!value.isGenericDict()) throw std::runtime_error("it holds no dictionary");
    return value.toGenericDict();
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: not a readable checkpoint ({})", file.string(), e.what_without_backtrace()));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: not a readable checkpoint ({})", file.string(), e.what()));
  }
}

namespace {

c10::impl::GenericDict string_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

const c10::IValue& entry(const c10::impl::GenericDict& d, const std::string& key, const fs::path& file) {
  const auto it = d.find(key);
  if (it == d.end()) throw std::runtime_error(fmt::format("{}: {} is missing", file.string(), key));
  return it->value();
}

void write_bytes(const fs::path& file, const std::vector<char>& bytes) {
  write_file_atomically(file, std::string_view(bytes.data(), bytes.size()));
}

}  // namespace

void save_worker_state(const fs::path& file, NetModel& model, const WorkerProgress& p) {
  c10::impl::GenericDict d = string_dict();
  d.insert("round", static_cast<std::int64_t>(p.round));
  d.insert("feed.epoch", p.feed.epoch);
  d.insert("feed.cursor", p.feed.cursor);
  d.insert("feed.step", p.feed.step);
  d.insert("samples", static_cast<std::int64_t>(p.samples));
  for (const auto& item : model->named_parameters()) d.insert("model." + item.key(), item.value().detach().cpu());
  for (const auto& item : model->named_buffers()) d.insert("model." + item.key(), item.value().cpu());
  for (std::size_t i = 0; i < p.momentum.size(); ++i)
    if (p.momentum[i].defined()) d.insert(fmt::format("momentum.{}", i), p.momentum[i].cpu());
  fs::create_directories(file.parent_path());
  write_bytes(file, torch_save_bytes(c10::IValue(d)));
}

std::map<std::string, at::Tensor> read_worker_model(const fs::path& file) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : read_torch_dict(file)) {
    const std::string& key = item.key().toStringRef();
    if (key.rfind("model.", 0) == 0) out.emplace(key.substr(6), item.value().toTensor());
  }
  return out;
}

WorkerProgress restore_worker_state(const fs::path& file, NetModel& model) {
  const c10::impl::GenericDict d = read_torch_dict(file);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) item.value().copy_(entry(d, "model." + item.key(), file).toTensor());
    for (auto& item : model->named_buffers()) item.value().copy_(entry(d, "model." + item.key(), file).toTensor());
  }
  WorkerProgress p;
  p.round = static_cast<std::uint64_t>(entry(d, "round", file).toInt());
  p.feed = {entry(d, "feed.epoch", file).toInt(), entry(d, "feed.cursor", file).toInt(), entry(d, "feed.step", file).toInt()};
  p.samples = static_cast<std::uint64_t>(entry(d, "samples", file).toInt());
  const std::size_t params = model->parameters().size();
  p.momentum.resize(params);
  for (std::size_t i = 0; i < params; ++i) {
    const std::string key = fmt::format("momentum.{}", i);
    if (d.contains(key)) p.momentum[i] = d.at(key).toTensor();
  }
  return p;
}

std::map<std::string, at::Tensor> write_global_model(const fs::path& dir, std::uint64_t round, NetModel& model,
                                                     const std::vector<WorkerId>& holders) {
  std::map<WorkerId, c10::impl::GenericDict> files;
  std::map<std::string, at::Tensor> state;
  c10::impl::GenericDict pytorch = string_dict();
  for (std::size_t b = 0; b < holders.size(); ++b) {
    const fs::path file = worker_state_path(dir, round, holders[b]);
    if (!files.count(holders[b])) files.emplace(holders[b], read_torch_dict(file));
    const std::vector<std::string> names = model->state_names(b, true);
    const std::vector<std::string> torch_names = model->pytorch_names(b);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const at::Tensor t = entry(files.at(holders[b]), "model." + names[i], file).toTensor();
      state.emplace(names[i], t);
      pytorch.insert(torch_names[i], t);
    }
  }
  write_bytes(global_model_path(dir), torch_save_bytes(c10::IValue(pytorch)));
  return state;
}

void load_state(NetModel& model, const std::map<std::string, at::Tensor>& state) {
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) item.value().copy_(state.at(item.key()));
  for (auto& item : model->named_buffers()) item.value().copy_(state.at(item.key()));
}

}  // namespace resist::exec
