// `resist-worker`: one worker process of a real run. `resist run` starts these, one per local
// worker, or one per process of a job an external launcher started (torchrun-style variables,
// Slurm, Open MPI, MPICH; see exec/net.hpp). Its options come as a JSON document
// (exec/worker_contract.hpp), its place in the job from the launcher's variables.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exec/net.hpp"
#include "exec/worker.hpp"
#include "plan/generator.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"

namespace {

/// Measures the cost table of the scenario's network alone (resist profile) and writes it.
int profile(const resist::exec::WorkerOptions& o, const std::string& table_file, int repetitions) {
  using namespace resist;
  const Scenario s = scenario_or_default(o.scenario, o.sets);
  const Plan plan = make_plan(s, 1);
  write_file_atomically(table_file, cost_table_to_json(exec::profile_costs(s, plan, o, repetitions)).dump(1) + "\n");
  return 0;
}

/// Runs the worker the options file describes; writes its report. Returns the exit code.
int work(const std::string& options_file, const std::string& report_file, int& rank) {
  using namespace resist;
  exec::WorkerOptions o = exec::worker_options_from_json(read_json_file(options_file), options_file);
  const exec::JobPlace place = exec::job_from_environment().value_or(exec::JobPlace{});
  rank = o.rank = place.rank;
  o.world = place.world;
  o.local_rank = place.local_rank;
  o.master_addr = place.master_addr;
  o.master_port = place.master_port;
  const Scenario s = scenario_or_default(o.scenario, o.sets);
  if (s.strategy.workers != o.world)
    throw InputError(s.source, "/strategy/workers",
                     fmt::format("expected WORLD_SIZE ({}) workers, found {}", o.world, s.strategy.workers));
  const Plan plan = make_plan(s, o.rounds);
  if (o.rank == 0) {  // once per job
    std::ifstream maps("/proc/self/maps");
    const std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    if (const auto warning = exec::reference_blas_warning(text)) fmt::print(stderr, "resist-worker 0: warning: {}\n", *warning);
  }
  write_file_atomically(report_file, to_json(exec::run_worker(s, plan, o)).dump() + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"resist-worker: one worker of a real training run (started by resist run)"};
  std::string options, report, table;
  int repetitions = 20;
  app.add_option("--options", options, "The worker's options: a JSON document (exec/worker_contract.hpp)")->required();
  auto* report_option = app.add_option("--report", report, "Write this worker's report (JSON) here");
  auto* profile_option = app.add_option("--profile", table, "Instead of training: measure the network's cost "
                                                            "table (resist profile) and write it here");
  report_option->excludes(profile_option);
  app.add_option("--repetitions", repetitions, "--profile: timings per measurement (the median is kept)")
      ->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  if (report.empty() && table.empty()) {
    fmt::print(stderr, "resist-worker: expected --report or --profile\n");
    return resist::kExitBadInput;
  }
  // A worker never outlives the process that started it (resist run, or a launcher giving up).
  // If it died before this line, the worker has been re-parented already: leave at once.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (const char* parent = std::getenv("RESIST_PARENT"); parent && ::getppid() != std::atoi(parent)) return 1;
  int rank = 0;
  try {
    if (!table.empty())
      return profile(resist::exec::worker_options_from_json(resist::read_json_file(options), options), table, repetitions);
    return work(options, report, rank);
  } catch (const resist::InputError& e) {
    fmt::print(stderr, "resist-worker {}: error: {}\n", rank, e.what());
    return resist::kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "resist-worker {}: failed: {}\n", rank, e.what());
    return 1;
  }
}
