// The plan interpreter's backend on LibTorch and a Communicator: compute ops train the worker's
// sub-network for real, communication ops move the blocks' tensors.
#include "exec/worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "exec/checkpoint.hpp"
#include "exec/checkpoint_io.hpp"
#include "exec/data_feed.hpp"
#include "model/model_text.hpp"
#include "exec/communicator.hpp"
#include "exec/dataset.hpp"
#include "exec/network_module.hpp"
#include "exec/torch_compat.hpp"
#include "plan/generator.hpp"
#include "plan/interpreter.hpp"
#include "plan/json_file.hpp"
#include "plan/trace.hpp"

namespace resist::exec {
namespace {

/// The device a model's parameters are on.
torch::Device device_of(NetModel& model) { return model->parameters().front().device(); }

/// A batch on `device`.
Batch on(torch::Device device, const Batch& b) {
  if (device.is_cpu()) return b;
  return {b.images.to(device), b.labels.to(device)};
}

/// Where this worker trains (WorkerOptions::device).
torch::Device pick_device(const WorkerOptions& o) {
  if (o.device == "cpu") return torch::kCPU;
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    if (o.device == "cuda")
      throw std::runtime_error("--device cuda: this LibTorch sees no GPU (Debian's libtorch is built "
                               "for the CPU only: build with -Dlibtorch=FOLDER naming a CUDA LibTorch)");
    return torch::kCPU;
  }
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(o.local_rank % gpus)};
}

class TorchBackend final : public Backend {
 public:
  TorchBackend(const Scenario& s, const Plan& plan, NetModel& model, Communicator& comm,
               DataFeed& feed, const WorkerOptions& o)
      : s_(s), plan_(plan), model_(model), comm_(comm), feed_(feed), o_(o),
        device_(device_of(model)),
        optimizer_(model->parameters(), torch::optim::SGDOptions(s.training.learning_rate)
                                            .momentum(s.training.momentum)
                                            .weight_decay(s.training.weight_decay)) {}

  Ticket compute(const OpCall& call) override {
    for (auto& group : optimizer_.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(s_.learning_rate(call.round.index));
    if (call.round.phase == Phase::ist) return compute_ist(call);
    std::vector<char> active(plan_.network.blocks.size(), 0);
    for (BlockIndex b : call.round.assignments[static_cast<std::size_t>(o_.rank)].blocks) active[b] = 1;
    const bool step_after_sync = call.round.phase == Phase::data_parallel && plan_.workers > 1;
    model_->train();
    double loss_sum = 0;
    for (std::uint32_t i = 0; i < call.op.iterations; ++i) {
      const Batch batch = on(device_, feed_.next(plan_.batch_size));
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
    if (call.op.payload == Payload::neuron_slices) {
      // Gather: a worker sends the slice it trained. Scatter: worker 0 sends the peer's next slice.
      const bool gather = call.op.root != 0;
      torch::Tensor flat = flatten(model_->ist_slice(gather ? neurons(call.round, o_.rank) : next_neurons(call.round, peer)));
      comm_.send(flat, peer, tag(call));
      return done();
    }
    torch::Tensor flat = flatten(state(call.op));
    comm_.send(flat, peer, tag(call));
    return done();
  }

  Ticket recv(const OpCall& call, WorkerId peer) override {
    if (call.op.payload == Payload::neuron_slices) return recv_ist(call, peer);
    const auto tensors = state(call.op);
    torch::Tensor flat = torch::empty({numel(tensors)}, tensors.front().options());
    comm_.recv(flat, peer, tag(call));
    // The receiver keeps its own momentum for the block (from when it last held it). Zeroing it
    // on arrival was measured worse (Fashion-MNIST, 2 workers, 2 epochs, seeds 1 and 2: 88.65% and
    // 84.30% against 89.05% and 88.55% kept); shipping it would double the bytes moved.
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
  /// Whether the plan keeps some parameters identical on every worker after each round (not IST).
  bool has_shared_parameters() const { return plan_.strategy != StrategyKind::ist; }
  std::uint64_t samples() const { return samples_; }

  /// Momentum buffer of each of the model's parameters (undefined before its first step).
  std::vector<torch::Tensor> momentum() {
    std::vector<torch::Tensor> out;
    for (const torch::Tensor& p : model_->parameters()) {
      const auto it = optimizer_.state().find(optimizer_state_key(optimizer_, p));
      out.push_back(it == optimizer_.state().end()
                        ? torch::Tensor()
                        : static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
    }
    return out;
  }
  void set_momentum(std::size_t index, const torch::Tensor& buffer) {
    const torch::Tensor p = model_->parameters().at(index);
    auto state = std::make_unique<torch::optim::SGDParamState>();
    state->momentum_buffer(buffer.to(p.device(), /*non_blocking=*/false, /*copy=*/true));
    optimizer_.state()[optimizer_state_key(optimizer_, p)] = std::move(state);
  }

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

  const std::vector<std::vector<std::uint32_t>>& neurons(const Round& round, WorkerId w) const {
    return round.assignments.at(static_cast<std::size_t>(w)).neurons;
  }

  /// A worker's neurons in the round after `round` (that round is fetched once).
  const std::vector<std::vector<std::uint32_t>>& next_neurons(const Round& round, WorkerId w) {
    if (!next_round_ || next_round_->index != round.index + 1) next_round_ = round_at(plan_, round.index + 1);
    return neurons(*next_round_, w);
  }

  /// IST: trains this worker's slice of hidden neurons for the op's iterations (a fresh optimizer
  /// each round: momentum does not carry over between slices) and writes it back.
  Ticket compute_ist(const OpCall& call) {
    const auto& mine = neurons(call.round, o_.rank);
    std::vector<torch::Tensor> slice = model_->ist_slice(mine);
    std::vector<torch::Tensor> trained = ist_parameters(slice);
    for (torch::Tensor& t : trained) t.set_requires_grad(true);
    torch::optim::SGD sgd(trained, torch::optim::SGDOptions(s_.learning_rate(call.round.index))
                                       .momentum(s_.training.momentum)
                                       .weight_decay(s_.training.weight_decay));
    double loss_sum = 0;
    for (std::uint32_t i = 0; i < call.op.iterations; ++i) {
      const Batch batch = on(device_, feed_.next(plan_.batch_size));
      sgd.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(ist_forward(slice, batch.images, true), batch.labels);
      loss.backward();
      sgd.step();
      loss_sum += loss.item<double>();
      samples_ += plan_.batch_size;
    }
    round_loss_ = loss_sum / std::max<std::uint32_t>(1, call.op.iterations);
    for (torch::Tensor& t : slice) t = t.detach();
    model_->ist_write_slice(mine, slice);
    own_output_bias_ = slice.back().clone();
    return done();
  }

  /// IST: worker 0 gathers a trained slice (the output bias, which every slice trains, becomes
  /// the mean over the workers so far); a worker receives its next slice from worker 0.
  Ticket recv_ist(const OpCall& call, WorkerId peer) {
    const bool gather = o_.rank == 0;
    const auto& where = gather ? neurons(call.round, peer) : next_neurons(call.round, o_.rank);
    std::vector<torch::Tensor> slice = model_->ist_slice(where);
    torch::Tensor flat = torch::empty({numel(slice)}, slice.front().options());
    comm_.recv(flat, peer, tag(call));
    unflatten(flat, slice);
    if (gather) {
      if (gathered_round_ != call.round.index) {
        gathered_round_ = call.round.index;
        bias_sum_ = own_output_bias_.clone();
        bias_count_ = 1;
      }
      bias_sum_ += slice.back();
      slice.back() = bias_sum_ / static_cast<double>(++bias_count_);
    }
    model_->ist_write_slice(where, slice);
    return done();
  }

  /// Unique among the operations that can be in flight together: round and op id.
  static int tag(const OpCall& call) {
    return static_cast<int>((call.round.index % 4096) * 65536 + call.op.id);
  }

  Ticket done() {
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());  // the op's GPU work is over
    finished_.push_back(now());
    return finished_.size() - 1;
  }

  const Scenario& s_;
  const Plan& plan_;
  NetModel& model_;
  Communicator& comm_;
  DataFeed& feed_;
  const WorkerOptions& o_;
  torch::Device device_;
  torch::optim::SGD optimizer_;
  std::vector<double> finished_;
  std::uint64_t samples_ = 0;
  double round_loss_ = 0;
  std::optional<Round> next_round_;            // IST: the round after the current one
  torch::Tensor own_output_bias_, bias_sum_;   // IST: averaging the output bias on worker 0
  std::uint64_t gathered_round_ = ~std::uint64_t{0};
  int bias_count_ = 0;
};

/// RESIST_FAULT=RANK:ROUND makes that worker die after that round, RESIST_FAULT=RANK:ROUND:hang
/// makes it hang there, to test that the others stop.
void inject_fault(std::uint64_t round, WorkerId self) {
  const char* fault = std::getenv("RESIST_FAULT");
  int rank = -1;
  unsigned long long at = 0;
  char mode[8] = "";
  const int fields = fault ? std::sscanf(fault, "%d:%llu:%7s", &rank, &at, mode) : 0;
  if (fields < 2 || rank != self || at != round) return;
  if (std::string_view(mode) == "hang") {
    std::fprintf(stderr, "resist-worker %d: RESIST_FAULT: hanging after round %llu\n", self, at);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  std::fprintf(stderr, "resist-worker %d: RESIST_FAULT: dying after round %llu\n", self, at);
  std::_Exit(3);
}

/// Waits until every worker of the job has counted itself in at `key` (store.add(key, 1)).
void await_all(c10d::Store& store, const std::string& key, const WorkerOptions& o) {
  const double deadline = monotonic_seconds() + o.timeout_s;
  while (store.add(key, 0) < o.world) {
    if (monotonic_seconds() > deadline)
      throw std::runtime_error(fmt::format("{}: not every worker arrived within {} s", key, o.timeout_s));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// For each block, the worker that holds its current state once round `round` has ended: the
/// first holder of the next round (the plan sent the block there), or worker 0 after the last
/// round (it gathered all).
std::vector<WorkerId> current_holders(const Plan& plan, std::uint64_t round) {
  std::vector<WorkerId> holder(plan.network.blocks.size(), 0);
  if (round + 1 >= plan.total_rounds) return holder;
  const Round next = round_at(plan, round + 1);
  std::vector<char> seen(holder.size(), 0);
  for (WorkerId w = 0; w < plan.workers; ++w)
    for (BlockIndex b : next.assignments[static_cast<std::size_t>(w)].blocks)
      if (!seen[b]) {
        seen[b] = 1;
        holder[b] = w;
      }
  return holder;
}

double evaluate(const Scenario& s, const Plan& plan, NetModel& model, double partitioned_scale);

/// After each round: records loss and a checksum of the shared blocks' parameters (BatchNorm
/// running statistics are left out: data-parallel training averages gradients only), writes the
/// checkpoint, shows progress, and injects the test fault.
class AfterRound final : public Observer {
 public:
  AfterRound(const Scenario& s, const WorkerOptions& o, TorchBackend& backend, NetModel& model,
             DataFeed& feed, c10d::Store& store)
      : s_(s), o_(o), backend_(backend), model_(model), feed_(feed), store_(store),
        start_(monotonic_seconds()), start_samples_(backend.samples()) {}

  void on_op(const OpCall&, double, double) override {}
  void on_round(const Plan& plan, const Round& round, WorkerId self, double, double) override {
    loss.push_back(backend_.round_loss());
    if (backend_.has_shared_parameters()) {
      double sum = 0;
      for (std::size_t b = 0; b < plan.network.blocks.size(); ++b)
        if (!plan.network.blocks[b].partitionable)
          for (const torch::Tensor& t : model_->parameters_of(b)) sum += t.to(torch::kDouble).sum().item<double>();
      shared_checksum.push_back(sum);
    } else {
      shared_checksum.push_back(nlohmann::json());  // IST: every worker holds other slices
    }
    std::optional<std::map<std::string, at::Tensor>> global;
    if (!o_.checkpoint_dir.empty()) global = checkpoint(plan, round);
    const bool last = round.index + 1 == plan.rounds.size();
    if (self == 0 && o_.eval_every > 0 && (round.index + 1) % o_.eval_every == 0 && !last)
      evaluate_round(plan, round, global);
    if (o_.progress && self == 0) show(plan, round.index);
    inject_fault(round.index, self);
  }

  std::vector<double> loss;
  std::vector<nlohmann::json> shared_checksum;
  nlohmann::json evaluations = nlohmann::json::array();  ///< [round, accuracy] pairs, rank 0

 private:
  /// Accuracy of the global model after a round, where worker 0 can see it: its own model outside
  /// ResIST's partitioned rounds, else the model the checkpoint assembled.
  void evaluate_round(const Plan& plan, const Round& round,
                      const std::optional<std::map<std::string, at::Tensor>>& global) {
    double accuracy = 0;
    if (round.phase != Phase::resist) {
      accuracy = evaluate(s_, plan, model_, 1.0);
    } else if (global) {
      if (!eval_model_) {
        eval_model_ = NetModel(plan.network);
        (*eval_model_)->to(device_of(model_));
      }
      load_state(*eval_model_, *global);
      accuracy = evaluate(s_, plan, *eval_model_, plan.test_scale);
    } else {
      if (!warned_) std::fprintf(stderr, "resist-worker 0: --eval-every: the global model of a ResIST round "
                                         "is spread over the workers; give --checkpoint-dir to assemble it\n");
      warned_ = true;
      return;
    }
    evaluations.push_back({round.index, accuracy});
    last_accuracy_ = accuracy;
  }

  std::optional<std::map<std::string, at::Tensor>> checkpoint(const Plan& plan, const Round& round) {
    const std::filesystem::path dir = o_.checkpoint_dir;
    save_worker_state(worker_state_path(dir, round.index, o_.rank), model_,
                      {round.index, feed_.position(), backend_.samples(), backend_.momentum()});
    const std::string key = fmt::format("resist/checkpoint/{}", round.index);
    store_.add(key, 1);
    if (o_.rank != 0) return std::nullopt;
    await_all(store_, key, o_);  // every worker's file is complete: publish the round
    auto global = write_global_model(dir, round.index, model_, current_holders(plan, round.index));
    write_manifest(dir, {round.index, plan.total_rounds, plan.workers, s_.document, network_json(plan.network),
                         round.phase == Phase::resist ? plan.test_scale : 1.0});
    if (round.index > 0) std::filesystem::remove_all(worker_state_path(dir, round.index - 1, 0).parent_path());
    return global;
  }

  /// One line per round, redrawn in place on a terminal.
  void show(const Plan& plan, std::uint64_t round) {
    const double elapsed = monotonic_seconds() - start_;
    const double done = static_cast<double>(++shown_);
    const double left = static_cast<double>(plan.rounds.size() - 1 - round);
    const double rate = static_cast<double>((backend_.samples() - start_samples_) * static_cast<std::uint64_t>(o_.world)) / elapsed;
    const double eta = elapsed / done * left;
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    const std::string accuracy = last_accuracy_ ? fmt::format("  accuracy {:.1f}%", 100 * *last_accuracy_) : "";
    last_accuracy_.reset();
    const std::string line = fmt::format("round {}/{}  loss {:.4f}{}  {:.0f} images/s  elapsed {:.0f} s  ETA {:.0f} s",
                                         round + 1, plan.rounds.size(), backend_.round_loss(), accuracy, rate,
                                         elapsed, eta);
    std::fprintf(stderr, tty ? "\r\033[K%s%s" : "%s%s", line.c_str(), tty && left > 0 ? "" : "\n");
    std::fflush(stderr);
  }

  const Scenario& s_;
  const WorkerOptions& o_;
  TorchBackend& backend_;
  NetModel& model_;
  DataFeed& feed_;
  c10d::Store& store_;
  double start_;
  std::uint64_t start_samples_;
  std::uint64_t shown_ = 0;
  std::optional<NetModel> eval_model_;
  std::optional<double> last_accuracy_;
  bool warned_ = false;
};

/// Accuracy of the whole model (every block, test-time scale) on up to 2,000 held-out samples.
double evaluate(const Scenario& s, const Plan& plan, NetModel& model, double partitioned_scale) {
  torch::NoGradGuard no_grad;
  model->eval();
  const std::vector<char> all(plan.network.blocks.size(), 1);
  const std::vector<Batch> batches = evaluation_batches(s, plan.network, plan.seed);
  double right = 0, total = 0;
  const torch::Device device = device_of(model);
  for (const Batch& host : batches) {
    const Batch b = on(device, host);
    right += model->forward(b.images, all, partitioned_scale).argmax(1).eq(b.labels).sum().item<double>();
    total += static_cast<double>(b.labels.size(0));
  }
  return right / total;
}

}  // namespace

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {

nlohmann::json train(const Scenario& scenario, const WorkerOptions& options) {
  WorkerOptions o = options;
  torch::set_num_threads(o.threads);
  torch::manual_seed(scenario.strategy.seed);  // every worker starts from the same global model
  const Plan plan = make_plan(scenario, o.rounds);
  NetModel model(plan.network);  // built on the CPU, so that every device starts from the same model
  model->to(pick_device(o));
  c10d::TCPStoreOptions store_options;
  use_classic_store(store_options);
  store_options.port = static_cast<std::uint16_t>(o.master_port);
  store_options.isServer = o.rank == 0;
  store_options.numWorkers = static_cast<std::size_t>(o.world);
  store_options.timeout = std::chrono::seconds(o.timeout_s);
  auto store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store_options);
  if (o.t0 == 0) {  // workers on several machines: trace times count from when all are here
    store->add("resist/start", 1);
    await_all(*store, "resist/start", o);
    o.t0 = monotonic_seconds();
  }
  std::unique_ptr<Communicator> comm;
  if (o.backend == "nccl") {
#ifdef RESIST_HAVE_NCCL
    comm = make_nccl_communicator(store, o.rank, o.world, o.local_rank, std::chrono::seconds(o.timeout_s));
#else
    throw std::runtime_error("this resist-worker was built without NCCL (CUDA toolkit with NCCL not "
                             "found at build time); use --backend gloo");
#endif
  } else {
    comm = make_gloo_communicator(store, o.rank, o.world, o.bind_host, std::chrono::seconds(o.timeout_s));
  }
  DataFeed feed(scenario, o.rank, o.world);
  TorchBackend backend(scenario, plan, model, *comm, feed, o);
  std::size_t first = 0;
  if (o.resume) {
    const CheckpointManifest m = read_manifest_for(o.checkpoint_dir, scenario);
    const WorkerProgress p = restore_worker_state(worker_state_path(o.checkpoint_dir, m.round, o.rank), model);
    for (std::size_t i = 0; i < p.momentum.size(); ++i)
      if (p.momentum[i].defined()) backend.set_momentum(i, p.momentum[i]);
    feed.restore(p.feed);
    first = static_cast<std::size_t>(p.round + 1);
  }
  TraceRecorder trace;
  AfterRound after(scenario, o, backend, model, feed, *store);
  Interpreter interpreter(plan, o.rank, backend);
  interpreter.add_observer(trace);
  interpreter.add_observer(after);
  const double start = monotonic_seconds();
  for (std::size_t r = first; r < plan.rounds.size(); ++r) interpreter.run_round(plan.rounds[r]);
  const double seconds = monotonic_seconds() - start;
  // Nobody closes its connections while others still communicate (a peer that went away is an
  // error to Gloo and NCCL).
  store->add("resist/trained", 1);
  await_all(*store, "resist/trained", o);
  nlohmann::json report = {{"rank", o.rank}, {"first_round", first}, {"loss", after.loss},
                           {"shared_checksum", after.shared_checksum},
                           {"samples", backend.samples()}, {"seconds", seconds},
                           {"rounds_run", plan.rounds.size()}, {"total_rounds", plan.total_rounds},
                           {"trace", trace_to_json({"measured", std::string(to_string(plan.strategy)),
                                                    plan.workers, plan.network.spec.arch, {}},
                                                   trace.events, trace.rounds)}};
  if (o.gather_reports && o.rank != 0) {
    const std::string text = report.dump();
    store->set(fmt::format("resist/report/{}", o.rank), std::vector<std::uint8_t>(text.begin(), text.end()));
  }
  // Worker 0 serves the store: it leaves last.
  store->add("resist/left", 1);
  if (o.rank == 0) await_all(*store, "resist/left", o);
  if (o.rank == 0 && o.gather_reports) {
    report["peers"] = nlohmann::json::array();
    for (int r = 1; r < o.world; ++r) {
      const std::vector<std::uint8_t> bytes = store->get(fmt::format("resist/report/{}", r));
      report["peers"].push_back(nlohmann::json::parse(bytes.begin(), bytes.end()));
    }
  }
  if (o.rank == 0) {
    // After the last round worker 0 holds the global model; a ResIST round's needs the test-time scale.
    const bool resist_round = !plan.rounds.empty() && plan.rounds.back().phase == Phase::resist;
    report["accuracy"] = evaluate(scenario, plan, model, resist_round ? plan.test_scale : 1.0);
    report["evaluations"] = after.evaluations;
    report["evaluations"].push_back({plan.rounds.empty() ? 0 : plan.rounds.back().index, report["accuracy"]});
  }
  return report;
}

}  // namespace

nlohmann::json run_worker(const Scenario& scenario, const WorkerOptions& options) {
  try {
    return train(scenario, options);
  } catch (const c10::Error& e) {  // LibTorch's own errors: their message, not their backtrace
    throw std::runtime_error(e.what_without_backtrace());
  }
}

}  // namespace resist::exec
