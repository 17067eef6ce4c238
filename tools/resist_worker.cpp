// `resist-worker`: one worker process of a real run. `resist run` starts these, one per local
// worker, or one per process of a job an external launcher started (torchrun-style variables,
// Slurm, Open MPI, MPICH; see exec/net.hpp).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exec/net.hpp"
#include "exec/worker.hpp"
#include "plan/input_error.hpp"
#include "plan/json_file.hpp"

int main(int argc, char** argv) {
  using namespace resist;
  CLI::App app{"resist-worker: one worker of a real training run (started by resist run)"};
  std::string scenario_path, report;
  std::vector<std::string> sets;
  std::optional<std::uint64_t> rounds;
  int threads = 1;
  exec::WorkerOptions o;
  app.add_option("scenario", scenario_path, "Scenario JSON file (default: the built-in one)");
  app.add_option("--set", sets, "Override a scenario field")->allow_extra_args(false);
  app.add_option("--rounds", rounds, "Run only the first N rounds");
  app.add_option("--threads", threads, "Intra-op threads");
  app.add_option("--report", report, "Write this worker's report (JSON) here")->required();
  app.add_option("--checkpoint-dir", o.checkpoint_dir, "Checkpoint after every round here");
  app.add_flag("--resume", o.resume, "Continue from the checkpoint's last complete round")
      ->needs(app.get_option("--checkpoint-dir"));
  app.add_option("--eval-every", o.eval_every, "Evaluate the global model every N rounds");
  app.add_flag("--progress", o.progress, "Rank 0 shows progress on standard error");
  app.add_option("--timeout", o.timeout_s, "Rendezvous and communication time-out, seconds");
  app.add_option("--bind", o.bind_host, "Address or host name Gloo binds to (default 127.0.0.1; "
                                        "for jobs across machines, this machine's address)");
  app.add_option("--backend", o.backend, "Communication engine")->check(CLI::IsMember({"gloo", "nccl"}));
  app.add_option("--device", o.device, "Where the model trains")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_flag("--gather", o.gather_reports, "Worker 0's report also holds every other worker's (\"peers\")");
  CLI11_PARSE(app, argc, argv);
  // A worker never outlives the process that started it (resist run, or a launcher giving up).
  // If it died before this line, the worker has been re-parented already: leave at once.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (const char* parent = std::getenv("RESIST_PARENT"); parent && ::getppid() != std::atoi(parent)) return 1;
  // Without RESIST_T0 (one clock shared by the processes of one machine), the workers agree on
  // the time origin at their first rendezvous.
  if (const char* t0 = std::getenv("RESIST_T0")) o.t0 = std::atof(t0);
  o.threads = threads;
  o.rounds = rounds;
  try {
    const exec::JobPlace place = exec::job_from_environment().value_or(exec::JobPlace{});
    o.rank = place.rank;
    o.world = place.world;
    o.local_rank = place.local_rank;
    o.master_addr = place.master_addr;
    o.master_port = place.master_port;
    const Scenario s = scenario_or_default(scenario_path, sets);
    if (s.strategy.workers != o.world)
      throw InputError(s.source, "/strategy/workers",
                       fmt::format("expected WORLD_SIZE ({}) workers, found {}", o.world, s.strategy.workers));
    write_file_atomically(report, exec::run_worker(s, o).dump() + "\n");
    return 0;
  } catch (const InputError& e) {
    fmt::print(stderr, "resist-worker {}: error: {}\n", o.rank, e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "resist-worker {}: failed: {}\n", o.rank, e.what());
    return 1;
  }
}
