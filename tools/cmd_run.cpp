// `resist run`: real training of a scenario's plan by N local worker processes, or by one worker of
// a job that an external launcher started on many machines.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "exec/checkpoint.hpp"
#include "exec/dataset.hpp"
#include "exec/net.hpp"
#include "exec/supervisor.hpp"
#include "exec/worker_contract.hpp"
#include "plan/generator.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "trace/trace.hpp"
#include "tools/commands.hpp"
#include "tools/run_summary.hpp"


namespace resist::cli {
namespace {

namespace fs = std::filesystem;

struct RunOptions {
  std::string scenario;
  std::optional<int> workers;
  std::optional<std::uint64_t> rounds;
  std::string trace;
  std::string format = "text";
  std::string out;
  std::vector<std::string> sets;
  int threads = 1;
  int timeout_s = 600;
  std::string checkpoint_dir;
  bool resume = false;
  bool quiet = false;
  std::uint64_t eval_every = 0;
  std::string backend = "gloo";
  std::string device = "auto";
  std::string bind;
};

}  // namespace

fs::path worker_binary() {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path beside = self.parent_path() / "resist-worker";
  if (!fs::exists(beside))
    throw std::runtime_error(fmt::format("{} is missing: this resist was built without LibTorch "
                                         "(apt-get install libtorch-dev libgloo-dev, rebuild)", beside.string()));
  return beside;
}

void with_scratch_dir(const std::string& name, const std::function<void(const fs::path&)>& body) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("resist-{}-{}", name, ::getpid());
  fs::create_directories(dir);
  try {
    const exec::StopSignals signals;
    body(dir);
  } catch (const exec::Interrupted& stop) {  // nothing left behind; then die of the signal, as asked
    fs::remove_all(dir);
    std::signal(stop.signal, SIG_DFL);
    std::raise(stop.signal);
    std::_Exit(128 + stop.signal);  // what the shell reports for that signal, had raise returned
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
}

void check_trainable(const Scenario& s) {
  if (s.model.arch != "mlp" && s.model.arch.rfind("preact_", 0) != 0)
    throw InputError(s.source, "/model/arch",
                     fmt::format("the executor builds pre-activation ResNets (preact_*) and mlp, "
                                 "found \"{}\"", s.model.arch));
  if (s.strategy.kind == StrategyKind::layer_parallel && s.training.dtype == Dtype::fp16)
    throw InputError(s.source, "/training/dtype",
                     "layer_parallel trains in fp32 or bf16: fp16's loss scaling is not implemented for it");
  exec::check_model_fits(s, exec::probe_dataset(s, true));
}

namespace {

/// The scenario of the run, checked against its data and, when resuming, its checkpoint.
Scenario checked_scenario(const RunOptions& o, const std::vector<std::string>& sets) {
  const Scenario s = scenario_or_default(o.scenario, sets);
  check_trainable(s);
  exec::probe_dataset(s, false);  // the test split must be there too
  if (o.resume && s.strategy.kind == StrategyKind::layer_parallel)
    throw InputError(s.source, "/strategy/name",
                     "--resume: a layer_parallel checkpoint has the stages' blocks but not their AuxNets; resuming it is "
                     "not implemented");
  if (o.resume) {
    const exec::CheckpointManifest m = exec::read_manifest_for(o.checkpoint_dir, s);
    if (m.workers != s.strategy.workers)
      throw InputError(exec::manifest_path(o.checkpoint_dir).string(), "/workers",
                       fmt::format("the checkpoint has {} workers, this run {}", m.workers, s.strategy.workers));
  }
  return s;
}

/// The options every local worker gets (each learns its rank from its environment).
exec::WorkerOptions worker_options(const RunOptions& o, const std::vector<std::string>& sets,
                                   const std::optional<exec::JobPlace>& job) {
  exec::WorkerOptions w;
  if (!o.scenario.empty()) w.scenario = fs::absolute(o.scenario).string();
  w.sets = sets;
  w.rounds = o.rounds;
  w.threads = o.threads;
  w.timeout_s = o.timeout_s;
  w.backend = o.backend;
  w.device = o.device;
  if (!o.checkpoint_dir.empty()) {
    fs::create_directories(o.checkpoint_dir);
    w.checkpoint_dir = fs::absolute(o.checkpoint_dir).string();
  }
  w.resume = o.resume;
  w.progress = !o.quiet;
  w.eval_every = o.eval_every;
  if (job) {
    w.bind_host = o.bind.empty() ? exec::default_bind_host(job->master_addr, job->spans_hosts) : o.bind;
    w.gather_reports = true;
  } else {  // one machine: one clock, shared from now
    w.t0 = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  return w;
}

/// Starts this machine's worker processes: all N, their rendezvous at `port` on 127.0.0.1, or under
/// an external launcher the one this process stands for. Returns their report files (rank order).
std::vector<fs::path> start_workers(exec::Supervisor& workers, const std::optional<exec::JobPlace>& job,
                                    const exec::WorkerOptions& options, int world, int port, const fs::path& dir) {
  const fs::path binary = worker_binary();
  const fs::path options_file = dir / "options.json";
  write_file_atomically(options_file, to_json(options).dump(1) + "\n");
  std::vector<fs::path> reports;
  // Workers sharing this machine's cores wait for their threads without spinning.
  const std::optional<std::string> wait_policy = exec::omp_wait_policy(
      job ? job->local_world : world, options.threads, exec::usable_cores(), std::getenv("OMP_WAIT_POLICY"));
  auto start = [&](const exec::JobPlace& p) {
    reports.push_back(dir / fmt::format("rank{}.json", p.rank));
    std::vector<std::string> env{fmt::format("RANK={}", p.rank), fmt::format("WORLD_SIZE={}", p.world),
                                 fmt::format("LOCAL_RANK={}", p.local_rank), "MASTER_ADDR=" + p.master_addr,
                                 fmt::format("MASTER_PORT={}", p.master_port)};
    if (wait_policy) env.push_back(*wait_policy);
    workers.start(binary, {"--options", options_file.string(), "--report", reports.back().string()}, env, p.rank);
  };
  if (job) {
    start(*job);
    return reports;
  }
  for (int r = 0; r < world; ++r) start({r, world, r, "127.0.0.1", port, ""});
  return reports;
}

/// Runs the workers and reads their reports.
std::vector<exec::WorkerReport> supervise(const std::optional<exec::JobPlace>& job, const exec::WorkerOptions& options,
                                          int world, const fs::path& dir) {
  // Held until the workers have ended: no other process can take the port before worker 0's store
  // listens there.
  std::optional<exec::HeldPort> rendezvous;
  if (!job) rendezvous.emplace();
  exec::Supervisor workers;
  const std::vector<fs::path> files = start_workers(workers, job, options, world, rendezvous ? rendezvous->port() : 0, dir);
  workers.wait_all();
  std::vector<exec::WorkerReport> reports;
  for (const fs::path& f : files) reports.push_back(exec::worker_report_from_json(read_json_file(f), f.string()));
  return reports;
}

/// Worker 0's report brought the others' (a job across machines): all, in rank order.
std::vector<exec::WorkerReport> unpack_peers(std::vector<exec::WorkerReport> reports) {
  std::vector<exec::WorkerReport> peers = std::move(reports.front().peers);
  reports.front().peers.clear();
  for (exec::WorkerReport& p : peers) reports.push_back(std::move(p));
  return reports;
}

Trace merged_trace(const std::vector<exec::WorkerReport>& reports) {
  Trace merged;
  for (const exec::WorkerReport& rep : reports) {
    Trace t = trace_from_json(rep.trace, fmt::format("worker {}'s report", rep.rank));
    merged.meta = t.meta;
    merged.events.insert(merged.events.end(), t.events.begin(), t.events.end());
    merged.rounds.insert(merged.rounds.end(), t.rounds.begin(), t.rounds.end());
  }
  return merged;
}

void print_results(const RunOptions& o, const std::vector<exec::WorkerReport>& reports, const Scenario& s) {
  const Trace merged = merged_trace(reports);
  if (!o.trace.empty())
    write_file_atomically(o.trace, trace_to_json(merged.meta, merged.events, merged.rounds).dump() + "\n");
  const nlohmann::json summary = run_summary(reports, merged, make_plan(s, o.rounds));
  if (o.format == "json") {
    nlohmann::json workers = nlohmann::json::array();
    for (const exec::WorkerReport& rep : reports) {
      nlohmann::json j = to_json(rep);
      j.erase("trace");
      j.erase("peers");
      workers.push_back(std::move(j));
    }
    emit(o.out, nlohmann::json{{"summary", summary}, {"workers", workers}}.dump(1) + "\n");
    return;
  }
  std::string text = summary_text(reports, summary);
  if (!o.checkpoint_dir.empty())
    text += fmt::format("global model (PyTorch state_dict, torch.load): {}\n",
                        exec::global_model_path(o.checkpoint_dir).string());
  emit(o.out, text);
}

int run(const RunOptions& o) {
  // Under torchrun, Slurm, mpirun...: this process is one worker of a job across machines.
  const std::optional<exec::JobPlace> job = exec::job_from_environment();
  std::vector<std::string> sets = o.sets;
  if (job && o.workers && *o.workers != job->world)
    throw InputError("--workers", "", fmt::format("{} workers asked for, but the {} launcher started {} "
                                                  "processes", *o.workers, job->launcher, job->world));
  if (job) sets.push_back(fmt::format("strategy.workers={}", job->world));
  else if (o.workers) sets.push_back(fmt::format("strategy.workers={}", *o.workers));
  const Scenario s = checked_scenario(o, sets);
  std::vector<exec::WorkerReport> reports;
  with_scratch_dir("run", [&](const fs::path& dir) {
    reports = supervise(job, worker_options(o, sets, job), s.strategy.workers, dir);
  });
  if (job && job->rank != 0) return 0;  // worker 0 writes the results
  if (job) reports = unpack_peers(std::move(reports));
  print_results(o, reports, s);
  return 0;
}

}  // namespace

Runner add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run", "Train a scenario's plan for real: N local worker processes, or, under torchrun, Slurm or "
             "mpirun (RANK/WORLD_SIZE, SLURM_PROCID/SLURM_NTASKS, OMPI_COMM_WORLD_RANK/_SIZE with "
             "MASTER_ADDR and MASTER_PORT), this process's worker of the job; worker 0 prints and "
             "writes the results");
  sub->add_option("scenario", o->scenario, "Scenario JSON file (default: the built-in one)");
  sub->add_option("--workers", o->workers, "Number of worker processes (sets strategy.workers)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--rounds", o->rounds, "Run only the first N rounds")->check(CLI::PositiveNumber);
  sub->add_option("--trace", o->trace, "Write the measured trace (Chrome Trace Event JSON)");
  sub->add_option("--threads", o->threads, "Intra-op threads per worker")->check(CLI::PositiveNumber);
  sub->add_option("--timeout", o->timeout_s,
                  "Seconds a worker waits on the others (rendezvous, each communication) before "
                  "it gives up and the job stops: bounds the effect of a worker that died or hangs")
      ->check(CLI::PositiveNumber);
  sub->add_option("--checkpoint-dir", o->checkpoint_dir,
                  "After every round, write the global model (model.pt, a PyTorch state_dict) and "
                  "each worker's state here, atomically");
  sub->add_flag("--resume", o->resume, "Continue from the last complete round in --checkpoint-dir")
      ->needs(sub->get_option("--checkpoint-dir"));
  sub->add_flag("--quiet", o->quiet, "No progress display");
  sub->add_option("--eval-every", o->eval_every,
                  "Evaluate the global model on held-out data every N rounds (ResIST rounds need "
                  "--checkpoint-dir: the model is assembled from the workers' checkpoints)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--backend", o->backend, "Communication engine: gloo (CPU) or nccl (GPUs)")
      ->check(CLI::IsMember({"gloo", "nccl"}));
  sub->add_option("--device", o->device,
                  "Where the models train: auto (worker i on GPU i modulo the GPUs, where this "
                  "build's LibTorch has CUDA and sees GPUs; else the CPU), cpu, or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub->add_option("--bind", o->bind, "Under an external launcher: the address or host name this "
                                     "machine's worker listens on (default: GLOO_SOCKET_IFNAME's address, else "
                                     "the one this machine reaches MASTER_ADDR from)");
  add_output_options(sub, o->format, o->out);
  add_set_option(sub, o->sets);
  return [o] { return run(*o); };
}

}  // namespace resist::cli
