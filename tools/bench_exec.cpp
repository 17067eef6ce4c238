// Benchmark helper: the plain LibTorch loop tools/bench_exec.sh measures resist's executor against.
// For each worker of the scenario's plan, one process (as resist runs them) trains the sub-network
// the plan assigns it, round by round, with nothing of resist's executor: no plan interpreter,
// backend, data feed, communicator, trace or allocator settings; a torch::optim::SGD, the worker's
// shard of the data set as one tensor, index_select batches, the loss summed on the device and read
// once per round. The network is resist's module (exec/network_module.hpp), in the layout resist
// would choose (training.memory_format). Nothing is averaged between rounds (that is not what is
// timed: the clock runs around the local iterations only). Prints JSON; asserts nothing.
//   ninja -C build tools/bench_exec
//   build/tools/bench_exec [--threads N] [--device cpu|cuda] [--set path=value ...]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include "exec/dataset.hpp"
#include "exec/network_module.hpp"
#include "exec/torch_backend.hpp"
#include "plan/generator.hpp"

using namespace resist;

namespace {

struct Result {
  double step_s = 0;
  std::uint64_t images = 0;
  double loss = 0;
};

Result train_worker(const Scenario& s, const Plan& plan, int rank, int threads, const std::string& device_name) {
  torch::set_num_threads(threads);
  const torch::Device device = device_name == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  torch::manual_seed(s.strategy.seed);
  exec::NetModel model(plan.network);
  model->to(device);
  const bool channels_last = exec::use_channels_last(s, device);
  if (channels_last) model->to_channels_last();
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(s.training.learning_rate)
                                                 .momentum(s.training.momentum)
                                                 .weight_decay(s.training.weight_decay));
  const std::vector<torch::Tensor> parameters = model->parameters();
  torch::Tensor images, labels;
  {
    const exec::Dataset d = exec::load_dataset(s, true);
    const std::int64_t n = static_cast<std::int64_t>(d.info.size);
    auto* pixels = const_cast<std::uint8_t*>(d.pixels.data());
    auto* classes = const_cast<std::uint8_t*>(d.labels.data());
    const torch::Tensor shard = torch::arange(rank, n, plan.workers, torch::kLong);
    images = torch::from_blob(pixels, {n, d.info.channels, d.info.height, d.info.width}, torch::kUInt8)
                 .index_select(0, shard).to(device);
    labels = torch::from_blob(classes, {n}, torch::kUInt8).index_select(0, shard).to(torch::kLong).to(device);
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s.strategy.seed * 7919 + static_cast<std::uint64_t>(rank));
  torch::Tensor order = at::randperm(labels.size(0), gen).to(device);
  std::int64_t cursor = 0;
  const std::int64_t batch = plan.batch_size;
  Result out;
  for (const Round& round : plan.rounds) {
    std::vector<char> active(plan.network.blocks.size(), 0);
    for (BlockIndex b : round.assignments[static_cast<std::size_t>(rank)].blocks) active[b] = 1;
    std::uint32_t iterations = 0;
    for (const Op& op : round.ops)
      if (op.kind == OpKind::compute && op.has_member(rank)) iterations = op.iterations;
    model->train();
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < iterations; ++i) {
      if (cursor + batch > order.size(0)) {
        order = at::randperm(labels.size(0), gen).to(device);
        cursor = 0;
      }
      const torch::Tensor idx = order.narrow(0, cursor, batch);
      cursor += batch;
      torch::Tensor x = images.index_select(0, idx).to(torch::kFloat).div_(127.5).sub_(1.0);
      if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      for (const torch::Tensor& p : parameters) p.mutable_grad() = torch::Tensor();  // zero_grad(set_to_none=True)
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x, active, 1.0), labels.index_select(0, idx));
      loss.backward();
      opt.step();
      loss_sum.add_(loss.detach());
    }
    out.loss = loss_sum.item<double>() / std::max<std::uint32_t>(1, iterations);
    out.step_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.images += static_cast<std::uint64_t>(iterations) * static_cast<std::uint64_t>(batch);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The plain LibTorch loop of tools/bench_exec.sh: each worker's sub-networks, trained round by round "
               "without resist's executor; prints images/s per worker of training-step time (JSON)"};
  int threads = 1;
  std::string device = "cpu", scenario_file;
  std::vector<std::string> sets;
  app.add_option("scenario", scenario_file, "Scenario JSON file (default: the built-in one)");
  app.add_option("--threads", threads, "Intra-op threads per worker")->check(CLI::PositiveNumber);
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--set", sets, "Override a scenario field: dotted.path=value");
  CLI11_PARSE(app, argc, argv);
  try {
    const Scenario s = scenario_or_default(scenario_file, sets);
    const Plan plan = make_plan(s);
    std::vector<pid_t> children;
    std::vector<std::string> files;
    for (int rank = 0; rank < plan.workers; ++rank) {  // fork before LibTorch starts any thread
      files.push_back(fmt::format("/tmp/bench_exec.{}.{}", ::getpid(), rank));
      const pid_t pid = ::fork();
      if (pid == 0) {
        int code = 0;
        try {
          const Result r = train_worker(s, plan, rank, threads, device);
          std::ofstream(files.back()) << nlohmann::json{{"rank", rank}, {"images_per_s", static_cast<double>(r.images) / r.step_s},
                                                      {"step_s", r.step_s}, {"images", r.images}, {"loss", r.loss}}.dump();
        } catch (const std::exception& e) {
          fmt::print(stderr, "bench_exec: worker {}: {}\n", rank, e.what());
          code = 1;
        }
        std::fflush(nullptr);
        ::_exit(code);
      }
      children.push_back(pid);
    }
    bool ok = true;
    for (const pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    nlohmann::json out{{"workers", nlohmann::json::array()}};
    double sum = 0;
    for (const std::string& f : files) {
      std::ifstream in(f);
      if (ok && in) {
        out["workers"].push_back(nlohmann::json::parse(in));
        sum += out["workers"].back()["images_per_s"].get<double>();
      }
      std::remove(f.c_str());
    }
    if (!ok) return 1;
    out["images_per_s"] = sum / plan.workers;
    fmt::print("{}\n", out.dump());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_exec: {}\n", e.what());
    return 2;
  }
}
