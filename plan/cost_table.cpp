#include "plan/cost_table.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"

namespace resist {
namespace {

using nlohmann::json;

/// The member `key` of object `doc` (at `where`), of the JSON type `is` accepts.
const json& member(const json& doc, const std::string& where, const char* key, bool (json::*is)() const noexcept,
                   const char* expected, const std::string& source) {
  if (!doc.contains(key)) throw InputError(source, where, fmt::format("expected member \"{}\" ({})", key, expected));
  const json& v = doc.at(key);
  if (!(v.*is)())
    throw InputError(source, where + "/" + key, fmt::format("expected {}, found {}", expected, describe_json(v)));
  return v;
}

double seconds(const json& doc, const std::string& where, const char* key, double most, const std::string& source) {
  const double v = member(doc, where, key, &json::is_number, "a number of seconds", source).get<double>();
  if (!std::isfinite(v) || v < 0 || v > most)
    throw InputError(source, where + "/" + key, fmt::format("expected seconds from 0 to {}, found {}", most, v));
  return v;
}

std::vector<BlockCost> parse_blocks(const json& doc, const std::string& source) {
  const json blocks = member(doc, "", "blocks", &json::is_array, "an array of blocks", source);
  if (blocks.empty()) throw InputError(source, "/blocks", "expected at least one block");
  std::vector<BlockCost> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string where = fmt::format("/blocks/{}", i);
    if (!blocks[i].is_object())
      throw InputError(source, where, fmt::format("expected an object, found {}", describe_json(blocks[i])));
    BlockCost b;
    b.id = member(blocks[i], where, "id", &json::is_string, "a block id", source).get<std::string>();
    if (!seen.insert(b.id).second) throw InputError(source, where + "/id", fmt::format("block \"{}\" listed twice", b.id));
    b.forward_s = seconds(blocks[i], where, "forward_s", 3600, source);
    b.backward_s = seconds(blocks[i], where, "backward_s", 3600, source);
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

double CostTable::iteration_seconds(const Network& net, const Assignment& a) const {
  double train = 0;
  for (BlockIndex b : a.blocks) train += blocks.at(b).forward_s + blocks.at(b).backward_s;
  train *= slice_share(net, a);
  return train + step_s_per_param * static_cast<double>(a.params) + fixed_s;
}

double CostTable::op_seconds(const Plan& plan, const Round& round, const Op& op) const {
  const auto w = static_cast<std::size_t>(op.group.front());
  if (op.part == ComputePart::train) {
    Assignment a = round.assignments.at(w);
    a.params -= plan.aux_params(w);  // its own op steps it
    return iteration_seconds(plan.network, a) * op.iterations;
  }
  // An AuxNet is not in the table: its FLOPs at the rate the table's blocks reach.
  double seconds = 0, flops = 0;
  for (std::size_t b = 0; b < blocks.size() && b < plan.network.blocks.size(); ++b) {
    seconds += blocks[b].forward_s + blocks[b].backward_s;
    flops += plan.network.blocks[b].train_flops() * batch_size;
  }
  const double step = op.part == ComputePart::aux_update ? step_s_per_param * static_cast<double>(plan.aux_params(w)) : 0;
  return (flops > 0 ? op.flops * seconds / flops : 0) + step;
}

double CostTable::op_fixed_seconds(const Op& op) const {
  return op.part == ComputePart::train ? fixed_s * op.iterations : 0;
}

CostTable parse_cost_table(const json& doc, const std::string& source) {
  if (!doc.is_object()) throw InputError(source, "", fmt::format("expected a cost table object, found {}", describe_json(doc)));
  CostTable t;
  t.source = source;
  const std::string format = member(doc, "", "format", &json::is_string, "\"resist-cost-table\"", source).get<std::string>();
  if (format != CostTable::kFormat)
    throw InputError(source, "/format", fmt::format("expected \"{}\" (written by resist profile), found \"{}\"",
                                                    CostTable::kFormat, format));
  const json version = member(doc, "", "version", &json::is_number_integer, "an integer", source);
  if (version.get<std::int64_t>() != CostTable::kVersion)
    throw InputError(source, "/version", fmt::format("expected version {}, found {} (measure it again with this "
                                                     "resist's profile)", CostTable::kVersion, version.dump()));
  t.model = member(doc, "", "model", &json::is_object, "the scenario's model section", source);
  const json batch = member(doc, "", "batch_size", &json::is_number_integer, "an integer", source);
  if (batch.get<std::int64_t>() < 1 || batch.get<std::int64_t>() > 1000000)
    throw InputError(source, "/batch_size", fmt::format("expected 1 to 1000000, found {}", batch.dump()));
  t.batch_size = batch.get<int>();
  const std::string dtype = member(doc, "", "dtype", &json::is_string, "a dtype name", source).get<std::string>();
  const auto parsed = parse_dtype(dtype);
  if (!parsed) throw InputError(source, "/dtype", fmt::format("expected fp32, fp16 or bf16, found \"{}\"", dtype));
  t.dtype = *parsed;
  t.memory_format = member(doc, "", "memory_format", &json::is_string, "a memory format", source).get<std::string>();
  t.measured = doc.value("measured", json::object());
  t.blocks = parse_blocks(doc, source);
  t.step_s_per_param = seconds(doc, "", "step_s_per_param", 1, source);
  t.fixed_s = seconds(doc, "", "fixed_s", 3600, source);
  t.iteration_s = seconds(doc, "", "iteration_s", 3600, source);
  return t;
}

CostTable load_cost_table(const std::filesystem::path& file) {
  return parse_cost_table(read_json_file(file), file.string());
}

json cost_table_to_json(const CostTable& t) {
  json blocks = json::array();
  for (const BlockCost& b : t.blocks) blocks.push_back({{"id", b.id}, {"forward_s", b.forward_s}, {"backward_s", b.backward_s}});
  return {{"format", CostTable::kFormat}, {"version", CostTable::kVersion}, {"measured", t.measured},
          {"model", t.model}, {"batch_size", t.batch_size}, {"dtype", std::string(to_string(t.dtype))},
          {"memory_format", t.memory_format}, {"blocks", std::move(blocks)},
          {"step_s_per_param", t.step_s_per_param}, {"fixed_s", t.fixed_s}, {"iteration_s", t.iteration_s}};
}

void check_cost_table(const CostTable& t, const Plan& plan) {
  const json& scenario = plan.scenario;
  const auto differs = [&](const char* what, const std::string& table, const std::string& wanted) {
    throw InputError(t.source, fmt::format("/{}", what),
                     fmt::format("the table was measured for {} {}, the scenario has {}: run `resist profile` "
                                 "on this scenario", what, table, wanted));
  };
  if (scenario.contains("model") && t.model != scenario.at("model")) differs("model", t.model.dump(), scenario.at("model").dump());
  if (t.batch_size != plan.batch_size) differs("batch_size", std::to_string(t.batch_size), std::to_string(plan.batch_size));
  if (t.dtype != plan.dtype) differs("dtype", std::string(to_string(t.dtype)), std::string(to_string(plan.dtype)));
  const std::string layout = scenario.contains("training") ? scenario["training"].value("memory_format", "") : "";
  if (!layout.empty() && t.memory_format != layout) differs("memory_format", t.memory_format, layout);
  const auto& net = plan.network.blocks;
  if (t.blocks.size() != net.size())
    throw InputError(t.source, "/blocks", fmt::format("expected the network's {} blocks, found {}", net.size(), t.blocks.size()));
  for (std::size_t i = 0; i < net.size(); ++i)
    if (t.blocks[i].id != net[i].id)
      throw InputError(t.source, fmt::format("/blocks/{}/id", i),
                       fmt::format("expected block \"{}\" (forward order), found \"{}\"", net[i].id, t.blocks[i].id));
}

}  // namespace resist
