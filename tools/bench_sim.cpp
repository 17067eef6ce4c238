// Benchmark: simulation speed. Prints figures; asserts nothing.
//   build/tools/bench_sim
#include <chrono>

#include <fmt/format.h>

#include "plan/generator.hpp"
#include "sim/simulator.hpp"

namespace {

void run(const char* label, const std::vector<std::string>& sets, const char* cluster) {
  using namespace resist;
  const Scenario s = default_scenario(sets);
  const Plan plan = make_plan(s, 1);
  const Cluster c = load_cluster(cluster, ".");
  const auto t0 = std::chrono::steady_clock::now();
  const SimResult r = simulate(plan, c, s.sim);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("{:<46} {:>5} workers {:>8} transfers  engine {:>7.3f} s  in all {:>7.3f} s  "
             "{:>5.0f} MiB  predicted round {:.4f} s ({} collectives)\n",
             label, plan.workers, r.transfers, r.wall_s, total, r.peak_rss_mib, r.simulated_s,
             r.collective_model);
}

}  // namespace

int main() {
  run("ResIST round, ResNet-101, 8x H100 node", {"strategy.workers=8"}, "h100x8-node");
  run("local SGD round, ResNet-101, 8x H100 node", {"strategy.workers=8", "strategy.name=local_sgd"},
      "h100x8-node");
  run("ResIST round, ResNet-101, 32 GPUs over 100G", {"strategy.workers=32"}, "h100x8-4nodes-100g");
  run("ResIST round, ResNet-101, fat-tree, step", {"strategy.workers=1024", "sim.collectives=step"},
      "fattree-1024-25g");
  run("ResIST round, ResNet-101, fat-tree, auto", {"strategy.workers=1024"}, "fattree-1024-25g");
  run("data-parallel step, ResNet-101, fat-tree, auto",
      {"strategy.workers=1024", "strategy.name=data_parallel"}, "fattree-1024-25g");
  return 0;
}
