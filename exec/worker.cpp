// The plan interpreter's backend on LibTorch and a Communicator: compute ops train the worker's
// sub-network for real, communication ops move the blocks' tensors.
#include "exec/worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include "exec/communicator.hpp"
#include "exec/dataset.hpp"
#include "exec/network_module.hpp"
#include "plan/generator.hpp"
#include "plan/interpreter.hpp"
#include "plan/trace.hpp"

namespace resist::exec {
namespace {

/// Batches for one worker: synthetic class patterns, or the worker's shard of a real data set
/// (every world-th sample from its rank), reshuffled each epoch; crops and flips for CIFAR.
/// Pixels scale to [-1, 1].
class DataFeed {
 public:
  DataFeed(const Scenario& s, int rank, int world) : s_(s), rank_(rank) {
    if (s.dataset == "synthetic") return;
    data_ = load_dataset(s, true);
    for (std::size_t i = static_cast<std::size_t>(rank); i < data_.info.size; i += static_cast<std::size_t>(world))
      shard_.push_back(static_cast<std::int64_t>(i));
    if (shard_.empty()) throw std::invalid_argument(fmt::format("worker {} has no training samples", rank));
  }

  Batch next(int batch) {
    if (shard_.empty()) return synthetic_batch(s_.model, batch, s_.strategy.seed, rank_, step_++);
    std::vector<std::int64_t> picked;
    while (static_cast<int>(picked.size()) < batch) {
      if (cursor_ == order_.size()) reshuffle();
      picked.push_back(order_[cursor_++]);
    }
    ++step_;
    Batch b = gather(data_, picked);
    return s_.dataset == "fashion_mnist" ? b : augment(b);
  }

  static Batch gather(const Dataset& d, const std::vector<std::int64_t>& indices) {
    const std::int64_t per = d.info.channels * d.info.height * d.info.width;
    torch::Tensor x = torch::empty({static_cast<std::int64_t>(indices.size()), d.info.channels,
                                    d.info.height, d.info.width}, torch::kUInt8);
    torch::Tensor y = torch::empty({static_cast<std::int64_t>(indices.size())}, torch::kLong);
    for (std::size_t k = 0; k < indices.size(); ++k) {
      std::memcpy(x[static_cast<std::int64_t>(k)].data_ptr(), d.pixels.data() + indices[k] * per,
                  static_cast<std::size_t>(per));
      y[static_cast<std::int64_t>(k)] = static_cast<std::int64_t>(d.labels[static_cast<std::size_t>(indices[k])]);
    }
    return {x.to(torch::kFloat).div_(127.5).sub_(1.0), y};
  }

 private:
  void reshuffle() {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 7919 + static_cast<std::uint64_t>(rank_) * 104729 + epoch_++);
    const torch::Tensor perm = at::randperm(static_cast<std::int64_t>(shard_.size()), gen);
    order_.clear();
    for (std::int64_t i = 0; i < perm.size(0); ++i) order_.push_back(shard_[static_cast<std::size_t>(perm[i].item<std::int64_t>())]);
    cursor_ = 0;
  }

  /// Random 4-pixel-padded crops and horizontal flips, per sample.
  Batch augment(Batch b) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 31 + static_cast<std::uint64_t>(rank_) * 1009 + step_);
    const std::int64_t h = b.images.size(2), w = b.images.size(3);
    const torch::Tensor padded = torch::constant_pad_nd(b.images, {4, 4, 4, 4}, -1.0);
    const torch::Tensor offsets = at::randint(9, {b.images.size(0), 3}, gen, torch::kLong);
    for (std::int64_t k = 0; k < b.images.size(0); ++k) {
      torch::Tensor crop = padded[k].narrow(1, offsets[k][0].item<std::int64_t>(), h)
                               .narrow(2, offsets[k][1].item<std::int64_t>(), w);
      b.images[k].copy_(offsets[k][2].item<std::int64_t>() % 2 ? crop.flip({2}) : crop);
    }
    return b;
  }

  const Scenario& s_;
  int rank_;
  Dataset data_;
  std::vector<std::int64_t> shard_, order_;
  std::size_t cursor_ = 0;
  std::uint64_t step_ = 0, epoch_ = 0;
};

class TorchBackend final : public Backend {
 public:
  TorchBackend(const Plan& plan, ResNetModel& model, Communicator& comm, DataFeed& feed,
               const WorkerOptions& o)
      : plan_(plan), model_(model), comm_(comm), feed_(feed), o_(o),
        optimizer_(model->parameters(),
                   torch::optim::SGDOptions(o.learning_rate).momentum(0.9).weight_decay(5e-4)) {}

  Ticket compute(const OpCall& call) override {
    std::vector<char> active(plan_.network.blocks.size(), 0);
    for (BlockIndex b : call.round.assignments[static_cast<std::size_t>(o_.rank)].blocks) active[b] = 1;
    const bool step_after_sync = call.round.phase == Phase::data_parallel && plan_.workers > 1;
    model_->train();
    double loss_sum = 0;
    for (std::uint32_t i = 0; i < call.op.iterations; ++i) {
      const Batch batch = feed_.next(plan_.batch_size);
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
  DataFeed& feed_;
  const WorkerOptions& o_;
  torch::optim::SGD optimizer_;
  std::vector<double> finished_;
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

/// Accuracy of the whole model (every block, test-time scale) on up to 2,000 held-out samples.
double evaluate(const Scenario& s, const Plan& plan, ResNetModel& model) {
  torch::NoGradGuard no_grad;
  model->eval();
  const std::vector<char> all(plan.network.blocks.size(), 1);
  std::vector<Batch> batches;
  if (s.dataset == "synthetic") {
    batches.push_back(synthetic_batch(plan.network.spec, 512, plan.seed, -1, 0));
  } else {
    const Dataset test = load_dataset(s, false);
    const std::size_t n = std::min<std::size_t>(test.info.size, 2000);
    for (std::size_t at = 0; at < n; at += 250) {
      std::vector<std::int64_t> idx;
      for (std::size_t i = at; i < std::min(n, at + 250); ++i) idx.push_back(static_cast<std::int64_t>(i));
      batches.push_back(DataFeed::gather(test, idx));
    }
  }
  double right = 0, total = 0;
  for (const Batch& b : batches) {
    right += model->forward(b.images, all, plan.test_scale).argmax(1).eq(b.labels).sum().item<double>();
    total += static_cast<double>(b.labels.size(0));
  }
  return right / total;
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
  DataFeed feed(scenario, o.rank, o.world);
  TorchBackend backend(plan, model, *comm, feed, o);
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
  if (o.rank == 0) report["accuracy"] = evaluate(scenario, plan, model);
  return report;
}

}  // namespace resist::exec
