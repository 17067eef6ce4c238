// `resist profile`'s measurements: a network's cost table on this machine (plan/cost_table.hpp).
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "exec/torch_backend.hpp"
#include "exec/torch_compat.hpp"
#include "exec/worker.hpp"
#include "exec/worker_setup.hpp"
#include "trace/trace_compare.hpp"

namespace resist::exec {
namespace {

constexpr int kWarmup = 3;

/// A profile trains one process alone: there is nobody to communicate with.
class Alone final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_mean(at::Tensor&, const std::vector<int>&, int) override { refuse(); }
  void reduce_mean(at::Tensor&, const std::vector<int>&, int, int) override { refuse(); }
  void broadcast(at::Tensor&, const std::vector<int>&, int, int) override { refuse(); }
  void send(at::Tensor&, int, int) override { refuse(); }
  void recv(at::Tensor&, int, int) override { refuse(); }

 private:
  [[noreturn]] static void refuse() { throw std::logic_error("a profile trains one process alone: it cannot communicate"); }
};

/// Now, once the device's queued work is done (a GPU runs ahead of the host).
double settled(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
  return monotonic_seconds();
}

void drop_gradients(NetModel& model) {
  for (torch::Tensor& p : model->parameters()) p.mutable_grad() = torch::Tensor();
}

/// One training iteration of the whole network as a worker runs it (data, forward, loss,
/// backward, step: TorchBackend's own compute), median over the repetitions.
double time_iteration(const Scenario& s, const Plan& plan, NetModel& model, torch::Device device, int repetitions) {
  Alone alone;
  DataFeed feed(s, 0, 1, device);
  TorchBackend backend(s, plan, model, alone, feed, 0, [] { return monotonic_seconds(); });
  Round round = plan.rounds.at(0);
  round.phase = Phase::serial;  // the whole network on one worker, whatever the strategy's rounds are
  round.assignments.resize(1);
  Assignment& all = round.assignments[0];
  all = Assignment{};
  for (BlockIndex b = 0; b < plan.network.blocks.size(); ++b) all.blocks.push_back(b);
  Op op;
  op.kind = OpKind::compute;
  op.group = {0};
  op.iterations = 1;
  const OpCall call{plan, round, op, 0};
  std::vector<double> times;
  for (int r = 0; r < kWarmup + repetitions; ++r) {
    const double t0 = settled(device);
    backend.wait(backend.compute(call));
    if (r >= kWarmup) times.push_back(settled(device) - t0);
  }
  return quantile(times, 0.5);
}

/// The optimizer's step over every parameter (gradients left by the iterations before).
double time_step(const Scenario& s, NetModel& model, torch::Device device, int repetitions) {
  torch::optim::SGD optimizer(model->parameters(), sgd_options(s, s.training.learning_rate));
  std::vector<double> times;
  for (int r = 0; r < kWarmup + repetitions; ++r) {
    const double t0 = settled(device);
    multi_tensor_sgd_step(optimizer);
    if (r >= kWarmup) times.push_back(settled(device) - t0);
  }
  return quantile(times, 0.5);
}

/// Block `i` alone: a batch of its input's shape through it, then its backward from a gradient
/// of its output's shape (the input's gradient too, but for the first block, as in the network).
BlockCost time_block(const Scenario& s, const Plan& plan, NetModel& model, std::size_t i, torch::Device device,
                     int repetitions) {
  const Block& b = plan.network.blocks[i];
  const bool flat = b.kind == BlockKind::hidden || b.kind == BlockKind::output;
  const std::vector<std::int64_t> shape =
      flat ? std::vector<std::int64_t>{plan.batch_size, b.in_channels}
           : std::vector<std::int64_t>{plan.batch_size, b.in_channels, b.in_size.h, b.in_size.w};
  torch::Tensor x = torch::randn(shape, torch::TensorOptions().device(device));
  if (!flat && use_channels_last(s, device)) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  x.set_requires_grad(i > 0);
  const std::optional<torch::ScalarType> autocast = autocast_type(s, device);
  std::vector<double> forward, backward;
  for (int r = 0; r < kWarmup + repetitions; ++r) {
    drop_gradients(model);
    x.mutable_grad() = torch::Tensor();
    const double t0 = settled(device);
    torch::Tensor y;
    {
      AutocastScope scope(device.type(), autocast);
      y = model->forward_block(i, x);
    }
    const double t1 = settled(device);
    y.backward(torch::ones_like(y));
    const double t2 = settled(device);
    if (r < kWarmup) continue;
    forward.push_back(t1 - t0);
    backward.push_back(t2 - t1);
  }
  return {b.id, quantile(forward, 0.5), quantile(backward, 0.5)};
}

/// The first line of `file` that starts with `key`, after its colon ("" when none).
std::string field_of(const std::filesystem::path& file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0 && line.find(':') != std::string::npos) {
      const std::string value = line.substr(line.find(':') + 1);
      return value.substr(std::min(value.size(), value.find_first_not_of(" \t")));
    }
  return "";
}

/// Where the table was measured: enough to tell a table of another machine or LibTorch.
nlohmann::json measured_on(const WorkerOptions& o, torch::Device device, int repetitions) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  char date[32] = {};
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::string gpu;
  if (device.is_cuda() && std::filesystem::is_directory("/proc/driver/nvidia/gpus"))
    for (const auto& entry : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus"))
      if (gpu.empty()) gpu = field_of(entry.path() / "information", "Model");
  return {{"date", date}, {"host", host}, {"device", device.str()},
          {"processor", device.is_cuda() ? gpu : field_of("/proc/cpuinfo", "model name")},
          {"threads", o.threads}, {"libtorch", TORCH_VERSION}, {"repetitions", repetitions}, {"warmup", kWarmup}};
}

CostTable measure(const Scenario& s, const Plan& plan, const WorkerOptions& o, int repetitions) {
  keep_working_set();
  torch::set_num_threads(o.threads);
  torch::manual_seed(s.strategy.seed);
  NetModel model(plan.network);
  const torch::Device device = place_model(s, o, model);
  model->train();
  CostTable t;
  t.model = s.document.at("model");
  t.batch_size = plan.batch_size;
  t.dtype = plan.dtype;
  t.memory_format = s.document.at("training").at("memory_format").get<std::string>();
  t.iteration_s = time_iteration(s, plan, model, device, repetitions);  // warms every block up too
  const double params = static_cast<double>(plan.network.total_params());
  t.step_s_per_param = time_step(s, model, device, repetitions) / params;
  double blocks = 0;
  for (std::size_t i = 0; i < plan.network.blocks.size(); ++i) {
    t.blocks.push_back(time_block(s, plan, model, i, device, repetitions));
    blocks += t.blocks.back().forward_s + t.blocks.back().backward_s;
  }
  // What the iteration spends beyond its blocks and its step: the data, the loss, gradients reset.
  t.fixed_s = std::max(0.0, t.iteration_s - blocks - t.step_s_per_param * params);
  t.measured = measured_on(o, device, repetitions);
  return t;
}

}  // namespace

CostTable profile_costs(const Scenario& scenario, const Plan& plan, const WorkerOptions& options, int repetitions) {
  if (repetitions < 1) throw std::invalid_argument("a profile needs at least one repetition");
  try {
    return measure(scenario, plan, options, repetitions);
  } catch (const c10::Error& e) {  // LibTorch's own errors: their message, not their backtrace
    throw std::runtime_error(e.what_without_backtrace());
  }
}

}  // namespace resist::exec
