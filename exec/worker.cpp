// One worker: sets up the device, the rendezvous, the communicator and the data, then walks its
// part of the plan through the interpreter with the LibTorch backend.
#include "exec/worker.hpp"
#include "exec/worker_setup.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <torch/cuda.h>

#include "exec/checkpoint.hpp"
#include "exec/checkpoint_io.hpp"
#include "exec/evaluation.hpp"
#include "exec/net.hpp"
#include "exec/progress.hpp"
#include "exec/rendezvous.hpp"
#include "exec/whereabouts.hpp"
#include "exec/torch_compat.hpp"
#include "exec/round_end.hpp"
#include "exec/torch_backend.hpp"
#include "plan/interpreter.hpp"
#include "trace/trace.hpp"

namespace resist::exec {

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {

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

std::unique_ptr<Communicator> make_communicator(const c10::intrusive_ptr<c10d::Store>& store, const WorkerOptions& o) {
  const auto timeout = std::chrono::seconds(o.timeout_s);
  if (o.backend != "nccl") return make_gloo_communicator(store, o.rank, o.world, o.bind_host, timeout);
#ifdef RESIST_HAVE_NCCL
  return make_nccl_communicator(store, o.rank, o.world, o.local_rank, timeout);
#else
  throw std::runtime_error("this resist-worker was built without NCCL (CUDA toolkit with NCCL not "
                           "found at build time); use --backend gloo");
#endif
}

/// Every worker's probe address (empty for a worker that has none), once all have published theirs.
std::vector<std::string> exchange_probes(c10d::Store& store, const WorkerOptions& o, const ProbePort* probe) {
  const std::string mine = probe ? probe->address() : "";
  store.set(fmt::format("resist/probe/{}", o.rank), std::vector<std::uint8_t>(mine.begin(), mine.end()));
  std::vector<std::string> all;
  for (int r = 0; r < o.world; ++r) {
    const std::vector<std::uint8_t> v = store.get(fmt::format("resist/probe/{}", r));
    all.emplace_back(v.begin(), v.end());
  }
  return all;
}

/// Listens on a probe port that tells where this worker is (none where the bind host is a name,
/// not an address) and learns the others'; empty for a world of one.
std::vector<std::string> meet_probes(c10d::Store& store, const WorkerOptions& o, const Whereabouts& here,
                                     std::unique_ptr<ProbePort>& probe) {
  if (o.world < 2) return {};
  try {
    probe = std::make_unique<ProbePort>(o.bind_host, [&here] { return to_json(here.now()).dump(); });
  } catch (const std::runtime_error&) {  // a host name, not an address: no diagnosis
  }
  return exchange_probes(store, o, probe.get());
}

/// Called while `e` is handled: rethrows it, with what the peers' probe ports say added: which
/// one is gone or cannot be reached, as the failure is often a consequence of that; and where
/// every worker that answers is in the plan (which one hangs, or is behind).
[[noreturn]] void fail_naming_peers(const std::exception& e, const std::vector<std::string>& peers, int rank,
                                    const Whereabouts& here) {
  if (peers.empty()) throw;
  const std::vector<PeerState> states = probe_peers(peers, std::chrono::seconds(2));
  const std::vector<std::optional<std::string>> answers = ask_peers(peers, std::chrono::seconds(2));
  std::vector<std::optional<Position>> positions(answers.size());
  bool others_said = false;
  for (std::size_t r = 0; r < answers.size(); ++r) {
    if (static_cast<int>(r) == rank) {
      positions[r] = here.now();
      continue;
    }
    try {
      if (answers[r]) positions[r] = position_from_json(nlohmann::json::parse(*answers[r]));
    } catch (const std::exception&) {  // said something else: it did not say where it is
    }
    others_said = others_said || positions[r].has_value();
  }
  const bool all_answer =
      std::all_of(states.begin(), states.end(), [](PeerState p) { return p == PeerState::answers; });
  // A peer that is gone may only have given up first (its own time-out): where the others are
  // shows who held it up.
  const std::string peers_text = all_answer ? "" : describe_peers(peers, states, rank);
  const std::string where = all_answer || others_said ? describe_whereabouts(positions) : "";
  throw std::runtime_error(fmt::format("{}; {}{}{}", error_text(e), peers_text,
                                       !peers_text.empty() && !where.empty() ? "; " : "", where));
}

/// Puts model, optimizer and data feed back where the checkpoint's last complete round left
/// them; returns the first round to train.
std::size_t resume(const Scenario& s, const WorkerOptions& o, NetModel& model, TorchBackend& backend, DataFeed& feed) {
  const CheckpointManifest m = read_manifest_for(o.checkpoint_dir, s);
  const WorkerProgress p = restore_worker_state(worker_state_path(o.checkpoint_dir, m.round, o.rank), model);
  for (std::size_t i = 0; i < p.momentum.size(); ++i)
    if (p.momentum[i].defined()) backend.set_momentum(i, p.momentum[i]);
  feed.restore(p.feed);
  return static_cast<std::size_t>(p.round + 1);
}

/// Worker 0 serves the store, so it leaves last; with gather_reports it collects the others'
/// reports, which they leave in the store before they go.
void leave(c10d::Store& store, const WorkerOptions& o, WorkerReport& report) {
  if (o.gather_reports && o.rank != 0) {
    const std::string text = to_json(report).dump();
    store.set(fmt::format("resist/report/{}", o.rank), std::vector<std::uint8_t>(text.begin(), text.end()));
  }
  store.add("resist/left", 1);
  if (o.rank != 0) return;
  await_all(store, "resist/left", o.world, o.timeout_s);
  if (!o.gather_reports) return;
  for (int r = 1; r < o.world; ++r) {
    const std::vector<std::uint8_t> bytes = store.get(fmt::format("resist/report/{}", r));
    report.peers.push_back(worker_report_from_json(nlohmann::json::parse(bytes.begin(), bytes.end()),
                                                   fmt::format("worker {}'s report", r)));
  }
}

}  // namespace

/// Moves the model to its device, in the memory format the scenario asks for there; the device.
torch::Device place_model(const Scenario& s, const WorkerOptions& o, NetModel& model) {
  model->to(pick_device(o));
  const torch::Device device = device_of(model);
  if (use_channels_last(s, device)) model->to_channels_last();
  // Fixed shapes all round: let cuDNN time its algorithms once per shape and keep the fastest.
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  return device;
}

/// glibc's allocator hands memory back to the kernel when the top of its heap is free (128 KiB
/// and up) and maps large blocks one by one: every training iteration then frees and re-faults
/// its activations' pages (profiled with perf: page faults, page clearing and brk unmapping were
/// 10% of a CPU worker's samples). A worker's working set is the same every iteration, so it
/// keeps it: blocks up to 32 MiB (glibc's largest setting) come from the heap, and the heap is
/// trimmed only above 1 GiB free.
void keep_working_set() {
  static const bool done = [] {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
    ::mallopt(M_TOP_PAD, 64 << 20);
    return true;
  }();
  (void)done;
}

namespace {

/// After the plan's last round worker 0 holds the global model: its accuracy. A layer-parallel run
/// cut short (--rounds) never gathered its stages, and worker 0's other blocks are untrained: none.
/// On the CPU it takes every core this process may run on: the job's other workers have left
/// (leave), and the cores they held sit idle (the test set on 4 one-thread workers of 2 cores:
/// 3.5 s on one thread).
void evaluate_at_end(const Plan& plan, NetModel& model, Evaluator& evaluator, const RoundEnd& after,
                     WorkerReport& report) {
  const bool gathered = plan.strategy != StrategyKind::layer_parallel || plan.rounds.empty() ||
                        plan.rounds.back().model_complete_on(0);
  if (!gathered) return;
  if (!device_of(model).is_cuda() && usable_cores() > torch::get_num_threads()) torch::set_num_threads(usable_cores());
  const double scale = plan.rounds.empty() ? 1.0 : plan.rounds.back().eval_scale;
  const double evaluation_start = monotonic_seconds();
  report.accuracy = evaluator.accuracy(model, scale);
  report.evaluation_seconds = after.evaluation_seconds + (monotonic_seconds() - evaluation_start);
  report.evaluations = after.evaluations;
  report.evaluations.emplace_back(plan.rounds.empty() ? 0 : plan.rounds.back().index, *report.accuracy);
}

WorkerReport train(const Scenario& s, const Plan& plan, WorkerOptions o) {
  keep_working_set();
  torch::set_num_threads(o.threads);
  torch::manual_seed(s.strategy.seed);  // every worker starts from the same global model
  NetModel model(plan.network);         // built on the CPU, so that every device starts from the same model
  const torch::Device device = place_model(s, o, model);
  const auto store = connect_store(o);
  if (o.t0 == 0) {  // workers on several machines: trace times count from when all are here
    barrier(*store, "resist/start", o.world, o.timeout_s);
    o.t0 = monotonic_seconds();
  }
  // So that a failure can say which peer is gone, or cannot be reached, from here, or else where
  // each one is in the plan.
  Whereabouts here(monotonic_seconds);
  std::unique_ptr<ProbePort> probe;
  const std::vector<std::string> peers = meet_probes(*store, o, here, probe);
  const std::unique_ptr<Communicator> comm = make_communicator(store, o);
  // Layer-parallel stages all train on the same batch: every one reads the whole set in one order.
  const bool same_batches = plan.strategy == StrategyKind::layer_parallel;
  DataFeed feed(s, same_batches ? 0 : o.rank, same_batches ? 1 : o.world, device);
  TorchBackend backend(s, plan, model, *comm, feed, o.rank, [t0 = o.t0] { return monotonic_seconds() - t0; });
  const std::size_t first = o.resume ? resume(s, o, model, backend, feed) : 0;
  Evaluator evaluator(s, plan.network, plan.seed);
  TraceRecorder trace;
  RoundEnd after(s, o, backend, model, feed, *store, evaluator);
  Interpreter interpreter(plan, o.rank, backend);
  interpreter.add_observer(trace);
  interpreter.add_observer(here);  // before `after`: it may take long (checkpoint, evaluation)
  interpreter.add_observer(after);
  WorkerReport report;
  report.setup_seconds = seconds_since_launch();
  const double start = monotonic_seconds();
  try {
    for (std::size_t r = first; r < plan.rounds.size(); ++r) interpreter.run_round(plan.rounds[r]);
    report.seconds = monotonic_seconds() - start - after.evaluation_seconds;
    // Nobody closes its connections while others still communicate (a peer that went away is an
    // error to Gloo and NCCL).
    // A layer-parallel run's serial correction keeps worker 0 busy long after the others are done.
    barrier(*store, "resist/trained", o.world, o.timeout_s, kProgressKey);
  } catch (const std::exception& e) {
    fail_naming_peers(e, peers, o.rank, here);
  }
  report.rank = o.rank;
  report.first_round = first;
  report.loss = after.loss;
  report.shared_checksum = after.shared_checksum;
  report.samples = backend.samples();
  report.rounds_run = plan.rounds.size();
  report.total_rounds = plan.total_rounds;
  report.trace = trace_to_json({"measured", std::string(to_string(plan.strategy)), plan.workers, plan.network.spec.arch, {}},
                               trace.events, trace.rounds);
  leave(*store, o, report);
  if (o.rank == 0) evaluate_at_end(plan, model, evaluator, after, report);
  return report;
}

}  // namespace

WorkerReport run_worker(const Scenario& scenario, const Plan& plan, const WorkerOptions& options) {
  try {
    return train(scenario, plan, options);
  } catch (const c10::Error& e) {  // LibTorch's own errors: their message, not their backtrace
    throw std::runtime_error(e.what_without_backtrace());
  }
}

}  // namespace resist::exec
