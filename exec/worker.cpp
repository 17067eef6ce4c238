// The plan interpreter's backend on LibTorch and a Communicator: compute ops train the worker's
// sub-network for real, communication ops move the blocks' tensors.
#include "exec/worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "exec/communicator.hpp"
#include "exec/network_module.hpp"
#include "plan/generator.hpp"
#include "plan/interpreter.hpp"
#include "plan/trace.hpp"

namespace resist::exec {
namespace {

class TorchBackend final : public Backend {
 public:
  TorchBackend(const Plan& plan, ResNetModel& model, Communicator& comm, const WorkerOptions& o)
      : plan_(plan), model_(model), comm_(comm), o_(o),
        optimizer_(model->parameters(),
                   torch::optim::SGDOptions(o.learning_rate).momentum(0.9).weight_decay(5e-4)) {}

  Ticket compute(const OpCall& call) override {
    std::vector<char> active(plan_.network.blocks.size(), 0);
    for (BlockIndex b : call.round.assignments[static_cast<std::size_t>(o_.rank)].blocks) active[b] = 1;
    const bool step_after_sync = call.round.phase == Phase::data_parallel && plan_.workers > 1;
    model_->train();
    double loss_sum = 0;
    for (std::uint32_t i = 0; i < call.op.iterations; ++i) {
      const SyntheticBatch batch = synthetic_batch(plan_.network.spec, plan_.batch_size, plan_.seed,
                                                   o_.rank, step_++);
      for (torch::Tensor& p : model_->parameters()) p.mutable_grad() = torch::Tensor();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(batch.images, active, 1.0),
                                                                batch.labels);
      loss.backward();
      if (!step_after_sync) optimizer_.step();  // blocks without gradients are left alone
      loss_sum += loss.item<double>();
      samples_ += plan_.batch_size;
    }
    round_loss_ = loss_sum / std::max<std::uint32_t>(1, call.op.iterations);
    return done();
  }

  Ticket send(const OpCall& call, WorkerId peer) override {
    torch::Tensor flat = flatten(state(call.op));
    comm_.send(flat, peer, tag(call));
    return done();
  }

  Ticket recv(const OpCall& call, WorkerId peer) override {
    const auto tensors = state(call.op);
    torch::Tensor flat = torch::empty({numel(tensors)});
    comm_.recv(flat, peer, tag(call));
    unflatten(flat, tensors);
    return done();
  }

  Ticket collective(const OpCall& call) override {
    const Op& op = call.op;
    if (op.payload == Payload::gradients) {
      std::vector<torch::Tensor> grads;
      for (BlockIndex b : op.blocks)
        for (torch::Tensor& p : model_->parameters_of(b)) grads.push_back(p.mutable_grad());
      torch::Tensor flat = flatten(grads);
      comm_.allreduce_mean(flat, op.group, tag(call));
      unflatten(flat, grads);
      optimizer_.step();
      return done();
    }
    const auto tensors = state(op);
    torch::Tensor flat = flatten(tensors);
    if (op.kind == OpKind::allreduce) comm_.allreduce_mean(flat, op.group, tag(call));
    if (op.kind == OpKind::reduce) comm_.reduce_mean(flat, op.group, op.root, tag(call));
    if (op.kind == OpKind::broadcast) comm_.broadcast(flat, op.group, op.root, tag(call));
    unflatten(flat, tensors);
    return done();
  }

  double wait(Ticket ticket) override { return finished_[ticket]; }
  double now() override { return monotonic_seconds() - o_.t0; }

  double round_loss() const { return round_loss_; }
  std::uint64_t samples() const { return samples_; }

 private:
  std::vector<torch::Tensor> state(const Op& op) {
    std::vector<torch::Tensor> out;
    for (BlockIndex b : op.blocks)
      for (const torch::Tensor& t : model_->state(b)) out.push_back(t);
    return out;
  }

  static std::int64_t numel(const std::vector<torch::Tensor>& tensors) {
    std::int64_t n = 0;
    for (const torch::Tensor& t : tensors) n += t.numel();
    return n;
  }

  /// Unique among the operations that can be in flight together: round and op id.
  static int tag(const OpCall& call) {
    return static_cast<int>((call.round.index % 4096) * 65536 + call.op.id);
  }

  Ticket done() {
    finished_.push_back(now());
    return finished_.size() - 1;
  }

  const Plan& plan_;
  ResNetModel& model_;
  Communicator& comm_;
  const WorkerOptions& o_;
  torch::optim::SGD optimizer_;
  std::vector<double> finished_;
  std::uint64_t step_ = 0;
  std::uint64_t samples_ = 0;
  double round_loss_ = 0;
};

/// RESIST_FAULT=RANK:ROUND makes that worker die after that round, to test that the others stop.
void inject_fault(std::uint64_t round, WorkerId self) {
  const char* fault = std::getenv("RESIST_FAULT");
  int rank = -1;
  unsigned long long at = 0;
  if (fault && std::sscanf(fault, "%d:%llu", &rank, &at) == 2 && rank == self && at == round) {
    std::fprintf(stderr, "resist-worker %d: RESIST_FAULT: dying after round %llu\n", self, at);
    std::_Exit(3);
  }
}

/// Records the loss and a checksum of the shared blocks' parameters after each round (BatchNorm
/// running statistics are left out: data-parallel training averages gradients only).
class RoundLog final : public Observer {
 public:
  RoundLog(const TorchBackend& backend, ResNetModel& model) : backend_(backend), model_(model) {}
  void on_op(const OpCall&, double, double) override {}
  void on_round(const Plan& plan, const Round& round, WorkerId self, double, double) override {
    inject_fault(round.index, self);
    loss.push_back(backend_.round_loss());
    double sum = 0;
    for (std::size_t b = 0; b < plan.network.blocks.size(); ++b)
      if (!plan.network.blocks[b].partitionable)
        for (const torch::Tensor& t : model_->parameters_of(b)) sum += t.to(torch::kDouble).sum().item<double>();
    shared_checksum.push_back(sum);
  }
  std::vector<double> loss, shared_checksum;

 private:
  const TorchBackend& backend_;
  ResNetModel& model_;
};

double evaluate(const Plan& plan, ResNetModel& model) {
  torch::NoGradGuard no_grad;
  model->eval();
  const std::vector<char> all(plan.network.blocks.size(), 1);
  const SyntheticBatch batch = synthetic_batch(plan.network.spec, 512, plan.seed, -1, 0);
  const torch::Tensor predicted = model->forward(batch.images, all, plan.test_scale).argmax(1);
  return predicted.eq(batch.labels).to(torch::kDouble).mean().item<double>();
}

}  // namespace

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

nlohmann::json run_worker(const Scenario& scenario, const WorkerOptions& o) {
  if (scenario.strategy.kind == StrategyKind::ist)
    throw std::invalid_argument("the executor does not train IST's fully connected nets yet");
  torch::set_num_threads(o.threads);
  torch::manual_seed(scenario.strategy.seed);  // every worker starts from the same global model
  const Plan plan = make_plan(scenario, o.rounds);
  ResNetModel model(plan.network);
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(o.master_port);
  store_options.isServer = o.rank == 0;
  store_options.numWorkers = static_cast<std::size_t>(o.world);
  store_options.timeout = std::chrono::seconds(o.timeout_s);
  auto store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store_options);
  auto comm = make_gloo_communicator(store, o.rank, o.world);
  TorchBackend backend(plan, model, *comm, o);
  TraceRecorder trace;
  RoundLog log(backend, model);
  Interpreter interpreter(plan, o.rank, backend);
  interpreter.add_observer(trace);
  interpreter.add_observer(log);
  const double start = monotonic_seconds();
  interpreter.run();
  const double seconds = monotonic_seconds() - start;
  nlohmann::json report = {{"rank", o.rank}, {"loss", log.loss}, {"shared_checksum", log.shared_checksum},
                           {"samples", backend.samples()}, {"seconds", seconds},
                           {"rounds_run", plan.rounds.size()}, {"total_rounds", plan.total_rounds},
                           {"trace", trace_to_json({"measured", std::string(to_string(plan.strategy)),
                                                    plan.workers, plan.network.spec.arch, {}},
                                                   trace.events, trace.rounds)}};
  if (o.rank == 0) report["accuracy"] = evaluate(plan, model);
  return report;
}

}  // namespace resist::exec
