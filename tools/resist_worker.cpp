// `resist-worker`: one worker process of a real run. `resist run` starts these; torchrun-style
// launchers, Slurm or mpirun can too, through RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
#include <cstdlib>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exec/worker.hpp"
#include "plan/input_error.hpp"
#include "plan/json_file.hpp"

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

}  // namespace

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
  CLI11_PARSE(app, argc, argv);
  o.rank = env_int("RANK", 0);
  o.world = env_int("WORLD_SIZE", 1);
  o.master_addr = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
  o.master_port = env_int("MASTER_PORT", 29500);
  o.local_rank = env_int("LOCAL_RANK", o.rank);
  o.t0 = std::getenv("RESIST_T0") ? std::atof(std::getenv("RESIST_T0")) : exec::monotonic_seconds();
  o.threads = threads;
  o.rounds = rounds;
  try {
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
