// `resist run`: real training of a scenario's plan by N local worker processes, or by one worker of
// a job that an external launcher started on many machines.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "exec/checkpoint.hpp"
#include "exec/dataset.hpp"
#include "exec/net.hpp"
#include "plan/input_error.hpp"
#include "plan/json_file.hpp"
#include "model/model_text.hpp"
#include "plan/generator.hpp"
#include "plan/trace.hpp"
#include "plan/trace_stats.hpp"
#include "tools/commands.hpp"

extern char** environ;

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

fs::path worker_binary() {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path beside = self.parent_path() / "resist-worker";
  if (!fs::exists(beside))
    throw std::runtime_error(fmt::format("{} is missing: this resist was built without LibTorch "
                                         "(apt-get install libtorch-dev libgloo-dev, rebuild)", beside.string()));
  return beside;
}

pid_t spawn(const fs::path& binary, const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> all_env = env;
  all_env.push_back(fmt::format("RESIST_PARENT={}", ::getpid()));  // see resist_worker.cpp
  for (char** e = environ; *e; ++e) all_env.emplace_back(*e);
  std::vector<char*> envp;
  for (const std::string& e : all_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0)
    throw std::runtime_error("cannot start " + binary.string());
  return pid;
}

/// A signal that asks resist run to stop (Ctrl-C, a batch system's time limit): it stops its
/// workers, removes its files, then dies of that signal.
volatile std::sig_atomic_t stop_signal = 0;

struct Interrupted {
  int signal;
};

/// While alive, SIGINT, SIGTERM and SIGHUP (those not ignored) set stop_signal instead of killing
/// resist run at once.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction a {};
    a.sa_handler = [](int s) { stop_signal = s; };
    sigemptyset(&a.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], nullptr, &old_[i]);
      if (old_[i].sa_handler != SIG_IGN) ::sigaction(kSignals[i], &a, nullptr);  // nohup's SIGHUP stays ignored
    }
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
};

void stop_all(std::vector<pid_t>& pids) {
  for (pid_t& p : pids)
    if (p != 0) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
      p = 0;
    }
}

/// A worker that failed, and how.
struct Failure {
  std::size_t rank;
  int status;  // from waitpid
  /// An error the worker reported itself (exit code 1), often the consequence of another
  /// worker's end (a closed connection), rather than a crash, a kill or an injected fault.
  bool reported() const { return WIFEXITED(status) && WEXITSTATUS(status) == 1; }
  std::string text() const {
    return WIFEXITED(status) ? fmt::format("worker {} failed (exit code {})", rank, WEXITSTATUS(status))
                             : fmt::format("worker {} died (signal {})", rank, WTERMSIG(status));
  }
};

/// Reaps the workers that have ended; returns how many did, adding the failed ones to `failures`.
std::size_t reap(std::vector<pid_t>& pids, std::vector<Failure>& failures) {
  std::size_t ended = 0;
  for (std::size_t r = 0; r < pids.size(); ++r) {
    int status = 0;
    if (pids[r] == 0 || ::waitpid(pids[r], &status, WNOHANG) != pids[r]) continue;
    pids[r] = 0;
    ++ended;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures.push_back({r, status});
  }
  return ended;
}

/// Waits for every worker; a failure stops the others. (A worker that hangs makes the others
/// fail: every wait of theirs on it ends after --timeout.) The failure named is the likeliest
/// cause: the workers that fail with it are given a moment to end, and a worker that crashed, was
/// killed or exited abnormally is named before one that reported an error. Throws Interrupted on a
/// stop signal, the workers stopped.
void wait_workers(std::vector<pid_t>& pids) {
  std::size_t left = pids.size();
  std::vector<Failure> failures;
  while (left > 0) {
    if (stop_signal != 0) {
      stop_all(pids);
      throw Interrupted{stop_signal};
    }
    left -= reap(pids, failures);
    if (!failures.empty()) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
      while (left > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        left -= reap(pids, failures);
      }
      stop_all(pids);
      if (stop_signal != 0) throw Interrupted{stop_signal};  // Ctrl-C reached the workers too
      const auto cause = std::find_if(failures.begin(), failures.end(), [](const Failure& f) { return !f.reported(); });
      throw std::runtime_error((cause != failures.end() ? *cause : failures.front()).text() +
                               "; the other workers were stopped");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// The whole run in figures: throughput, accuracy, and per round time split and bytes moved.
nlohmann::json run_summary(const std::vector<nlohmann::json>& reports, const Trace& trace, const Plan& plan) {
  double samples = 0, seconds = 0;
  for (const auto& rep : reports) {
    samples += rep["samples"].get<double>();
    seconds = std::max(seconds, rep["seconds"].get<double>());
  }
  const std::vector<RoundTiming> timings = round_timings(trace.events, trace.rounds);
  double time = 0, compute = 0, comm = 0;
  for (const RoundTiming& r : timings) {
    time += r.time_s;
    compute += r.compute_s;
    comm += r.comm_s;
  }
  const std::size_t first = reports.front().value("first_round", std::size_t{0});
  double payload = 0, wire = 0;
  for (std::size_t r = first; r < plan.rounds.size(); ++r) {
    payload += static_cast<double>(plan.rounds[r].payload_bytes);
    wire += static_cast<double>(plan.rounds[r].wire_bytes);
  }
  const double n = std::max<double>(1, static_cast<double>(timings.size()));
  const double rounds = std::max<double>(1, static_cast<double>(plan.rounds.size() - first));
  return {{"strategy", std::string(to_string(plan.strategy))}, {"workers", plan.workers},
          {"rounds", timings.size()}, {"seconds", seconds}, {"samples", samples},
          {"images_per_s", samples / seconds}, {"accuracy", reports.front()["accuracy"]},
          {"round_s", time / n}, {"compute_s", compute / n}, {"comm_s", comm / n},
          {"payload_bytes_per_round", payload / rounds}, {"wire_bytes_per_round", wire / rounds}};
}

std::string summary_text(const std::vector<nlohmann::json>& reports, const nlohmann::json& summary) {
  const nlohmann::json& first = reports.front();
  std::string out = fmt::format("{:>6} {:>12} {:>18}\n", "round", "mean loss", "shared parameters");
  const std::size_t first_round = first.value("first_round", std::size_t{0});
  if (first_round > 0) out += fmt::format("(resumed after round {})\n", first_round - 1);
  for (std::size_t r = 0; r < first["loss"].size(); ++r) {
    double loss = 0;
    for (const auto& rep : reports) loss += rep["loss"][r].get<double>();
    bool same = true;
    for (const auto& rep : reports) same = same && rep["shared_checksum"][r] == first["shared_checksum"][r];
    const char* shared = first["shared_checksum"][r].is_null() ? "none (IST)" : same ? "identical" : "DIFFERS";
    out += fmt::format("{:>6} {:>12.4f} {:>18}\n", first_round + r, loss / static_cast<double>(reports.size()), shared);
  }
  out += fmt::format("\n{} workers trained {:.0f} samples in {:.2f} s: {:.1f} images/s; accuracy of "
                     "the global model on held-out data: {:.1f}%\n", reports.size(),
                     summary["samples"].get<double>(), summary["seconds"].get<double>(),
                     summary["images_per_s"].get<double>(), 100 * first["accuracy"].get<double>());
  if (first.contains("evaluations") && first["evaluations"].size() > 1) {
    out += "accuracy after round:";
    for (const auto& e : first["evaluations"])
      out += fmt::format(" {}: {:.1f}%", e[0].get<std::uint64_t>(), 100 * e[1].get<double>());
    out += "\n";
  }
  out += fmt::format("per round: {:.3f} s (compute {:.3f} s, communication {:.3f} s); {}B payload, "
                     "{}B on the wire\n", summary["round_s"].get<double>(), summary["compute_s"].get<double>(),
                     summary["comm_s"].get<double>(), si(summary["payload_bytes_per_round"].get<double>()),
                     si(summary["wire_bytes_per_round"].get<double>()));
  if (first["rounds_run"] != first["total_rounds"])
    out += fmt::format("(after {} of {} rounds: worker 0 holds the trained global model only after "
                       "the last round; until then its partitioned blocks may be stale)\n",
                       first["rounds_run"].get<std::uint64_t>(), first["total_rounds"].get<std::uint64_t>());
  return out;
}

/// What the executor trains: pre-activation ResNets (ResIST, local SGD, data-parallel) and IST's
/// MLP (any strategy).
void check_supported(const Scenario& s) {
  if (s.model.arch != "mlp" && s.model.arch.rfind("preact_", 0) != 0)
    throw InputError(s.source, "/model/arch",
                     fmt::format("the executor builds pre-activation ResNets (preact_*) and mlp, "
                                 "found \"{}\"", s.model.arch));
}

/// Starts this machine's worker processes: all N, or under an external launcher the one this
/// process stands for. Returns their report files (rank order).
std::vector<fs::path> start_workers(const std::optional<exec::JobPlace>& job, const Scenario& s,
                                    const std::vector<std::string>& args, const fs::path& dir,
                                    std::vector<pid_t>& pids) {
  const fs::path binary = worker_binary();
  std::vector<fs::path> reports;
  auto start = [&](int rank, std::vector<std::string> a, std::vector<std::string> env) {
    reports.push_back(dir / fmt::format("rank{}.json", rank));
    a.insert(a.end(), {"--report", reports.back().string()});
    pids.push_back(spawn(binary, a, env));
  };
  if (job) {
    std::vector<std::string> a = args;
    a.push_back("--gather");
    start(job->rank, a, {fmt::format("RANK={}", job->rank), fmt::format("WORLD_SIZE={}", job->world),
                         fmt::format("LOCAL_RANK={}", job->local_rank), "MASTER_ADDR=" + job->master_addr,
                         fmt::format("MASTER_PORT={}", job->master_port)});
    return reports;
  }
  const int port = exec::free_loopback_port();
  const auto t0 = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  for (int r = 0; r < s.strategy.workers; ++r)
    start(r, args, {fmt::format("RANK={}", r), fmt::format("WORLD_SIZE={}", s.strategy.workers),
                    "MASTER_ADDR=127.0.0.1", fmt::format("MASTER_PORT={}", port),
                    fmt::format("RESIST_T0={:.9f}", t0)});
  return reports;
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
  const Scenario s = scenario_or_default(o.scenario, sets);
  check_supported(s);
  exec::check_model_fits(s, exec::probe_dataset(s, true));
  exec::probe_dataset(s, false);  // the test split must be there too
  if (o.resume) {
    const exec::CheckpointManifest m = exec::read_manifest_for(o.checkpoint_dir, s);
    if (m.workers != s.strategy.workers)
      throw InputError(exec::manifest_path(o.checkpoint_dir).string(), "/workers",
                       fmt::format("the checkpoint has {} workers, this run {}", m.workers, s.strategy.workers));
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("resist-run-{}", ::getpid());
  fs::create_directories(dir);
  std::vector<std::string> args;
  if (!o.scenario.empty()) args.push_back(fs::absolute(o.scenario).string());
  for (const std::string& set : sets) args.insert(args.end(), {"--set", set});
  if (o.rounds) args.insert(args.end(), {"--rounds", std::to_string(*o.rounds)});
  args.insert(args.end(), {"--threads", std::to_string(o.threads), "--timeout",
                           std::to_string(o.timeout_s), "--backend", o.backend, "--device", o.device});
  if (!o.checkpoint_dir.empty()) {
    fs::create_directories(o.checkpoint_dir);
    args.insert(args.end(), {"--checkpoint-dir", fs::absolute(o.checkpoint_dir).string()});
  }
  if (o.resume) args.push_back("--resume");
  if (!o.quiet) args.push_back("--progress");
  if (o.eval_every > 0) args.insert(args.end(), {"--eval-every", std::to_string(o.eval_every)});
  if (job) args.insert(args.end(), {"--bind", o.bind.empty() ? exec::default_bind_host(job->master_addr) : o.bind});
  std::vector<pid_t> pids;
  std::vector<nlohmann::json> reports;
  try {
    const StopSignals signals;
    const std::vector<fs::path> files = start_workers(job, s, args, dir, pids);
    wait_workers(pids);
    for (const fs::path& f : files) reports.push_back(read_json_file(f));
  } catch (const Interrupted& stop) {  // nothing left behind; then die of the signal, as asked
    fs::remove_all(dir);
    std::signal(stop.signal, SIG_DFL);
    std::raise(stop.signal);
    return 128 + stop.signal;  // what the shell reports for that signal, had raise returned
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  if (job && job->rank != 0) return 0;  // worker 0 writes the results
  if (job) {  // worker 0's report brought the others'
    nlohmann::json peers = reports.front()["peers"];
    reports.front().erase("peers");
    for (nlohmann::json& p : peers) reports.push_back(std::move(p));
  }
  Trace merged;
  for (const auto& rep : reports) {
    Trace t = trace_from_json(rep["trace"], "worker report");
    merged.meta = t.meta;
    merged.events.insert(merged.events.end(), t.events.begin(), t.events.end());
    merged.rounds.insert(merged.rounds.end(), t.rounds.begin(), t.rounds.end());
  }
  if (!o.trace.empty())
    write_file_atomically(o.trace, trace_to_json(merged.meta, merged.events, merged.rounds).dump() + "\n");
  const nlohmann::json summary = run_summary(reports, merged, make_plan(s, o.rounds));
  if (o.format == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (auto rep : reports) {
      rep.erase("trace");
      j.push_back(std::move(rep));
    }
    emit(o.out, nlohmann::json{{"summary", summary}, {"workers", j}}.dump(1) + "\n");
  } else {
    std::string text = summary_text(reports, summary);
    if (!o.checkpoint_dir.empty())
      text += fmt::format("global model (PyTorch state_dict, torch.load): {}\n",
                          exec::global_model_path(o.checkpoint_dir).string());
    emit(o.out, text);
  }
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
                                     "machine's worker listens on (default: this host's name, or "
                                     "127.0.0.1 when MASTER_ADDR is loopback)");
  add_output_options(sub, o->format, o->out);
  add_set_option(sub, o->sets);
  return [o] { return run(*o); };
}

}  // namespace resist::cli
