// Benchmark: simulation speed. Prints figures; asserts nothing.
//   build/tools/bench_sim                       rounds on the shipped clusters
//   build/tools/bench_sim --scale [MAX] [BUDGET_S]
//       one ResIST round (ResNet-101, min_depth 1) on generated fat-trees of single-GPU hosts, 32
//       per leaf, from 64 workers up to MAX (default 65536), doubling; stops after the first size
//       that took over BUDGET_S seconds (default 60). Wall time, peak memory and the growth
//       exponent between sizes (1: linear, 2: quadratic).
//   build/tools/bench_sim --training
//       the paper's data-parallel setup (the default scenario, 4 V100s) for 1,000, 5,000 and all
//       15,625 of its rounds: wall time, time per simulated round, peak memory of the simulation
//       and of this process (the trace it holds).
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "plan/generator.hpp"
#include "plan/peak_memory.hpp"
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

void scale(int max_workers, double budget_s) {
  using namespace resist;
  fmt::print("{:>8} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}\n", "workers", "leaves", "spines", "transfers",
             "wall s", "engine s", "peak MiB", "exponent");
  double last_wall = 0;
  for (int n = 64; n <= max_workers; n *= 2) {
    const int leaves = n / 32, spines = std::max(1, std::min(32, leaves / 8));
    const nlohmann::json doc = {{"name", fmt::format("fat-tree of {} hosts", n)}, {"shape", "fat_tree"}, {"gpu", "A100"},
                                {"leaves", leaves}, {"gpus_per_leaf", 32}, {"spines", spines},
                                {"host_link", {{"bandwidth", "25Gbps"}, {"latency", "10us"}, {"kind", "ethernet"}}},
                                {"uplink", {{"bandwidth", "100Gbps"}, {"latency", "2us"}, {"kind", "ethernet"}}}};
    const Cluster c = parse_cluster(doc, "generated");
    const Scenario s = default_scenario({fmt::format("strategy.workers={}", n), "strategy.min_depth=1"});
    const Plan plan = make_plan(s, 1);
    const auto t0 = std::chrono::steady_clock::now();
    const SimResult r = simulate(plan, c, s.sim);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string exponent = last_wall > 0 ? fmt::format("{:.2f}", std::log2(wall / last_wall)) : "-";
    fmt::print("{:>8} {:>7} {:>7} {:>10} {:>10.3f} {:>10.3f} {:>10.0f} {:>9}\n", n, leaves, spines, r.transfers, wall,
               r.wall_s, r.peak_rss_mib, exponent);
    std::fflush(stdout);
    last_wall = wall;
    if (wall > budget_s) {
      fmt::print("stopped: {} workers took over {} s\n", n, budget_s);
      break;
    }
  }
}

void training() {
  using namespace resist;
  fmt::print("{:>8} {:>10} {:>10} {:>14} {:>12} {:>14}\n", "rounds", "transfers", "wall s", "us per round",
             "sim MiB", "this MiB");
  const Scenario s = default_scenario({"strategy.name=data_parallel"});
  const Cluster c = load_cluster(s.cluster, ".");
  for (const std::optional<std::uint64_t> rounds : {std::optional<std::uint64_t>{1000}, std::optional<std::uint64_t>{5000},
                                                    std::optional<std::uint64_t>{}}) {
    const Plan plan = make_plan(s, rounds);  // none: every round of the training
    const auto t0 = std::chrono::steady_clock::now();
    const SimResult r = simulate(plan, c, s.sim);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("{:>8} {:>10} {:>10.3f} {:>14.1f} {:>12.0f} {:>14.0f}\n", r.rounds.size(), r.transfers, wall,
               wall / static_cast<double>(r.rounds.size()) * 1e6, r.peak_rss_mib, peak_rss_mib());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--training") == 0) {
    training();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--scale") == 0) {
    scale(argc > 2 ? std::atoi(argv[2]) : 65536, argc > 3 ? std::atof(argv[3]) : 60);
    return 0;
  }
  run("ResIST round, ResNet-101, 8x H100 node", {"strategy.workers=8"}, "h100x8-node");
  run("local SGD round, ResNet-101, 8x H100 node", {"strategy.workers=8", "strategy.name=local_sgd"},
      "h100x8-node");
  run("ResIST round, ResNet-101, 32 GPUs over 100G", {"strategy.workers=32"}, "h100x8-4nodes-100g");
  run("ResIST round, ResNet-101, fat-tree, step", {"strategy.workers=1024", "sim.collectives=step"},
      "fattree-1024-25g");
  run("ResIST round, ResNet-101, fat-tree, auto", {"strategy.workers=1024"}, "fattree-1024-25g");
  run("data-parallel step, ResNet-101, fat-tree, auto",
      {"strategy.workers=1024", "strategy.name=data_parallel"}, "fattree-1024-25g");
  run("ResIST round, 8,192 H100 in 8-GPU nodes", {"strategy.workers=8192", "strategy.min_depth=1"},
      "fattree-8192-h100x8-ib");
  run("data-parallel, 8,192 H100, ring", {"strategy.workers=8192", "strategy.name=data_parallel"},
      "fattree-8192-h100x8-ib");
  run("data-parallel, 8,192 H100, hierarchical ring",
      {"strategy.workers=8192", "strategy.name=data_parallel", "collectives.allreduce=hierarchical_ring"},
      "fattree-8192-h100x8-ib");
  run("data-parallel, 32,768 H100, 3-level fat-tree", {"strategy.workers=32768", "strategy.name=data_parallel"},
      "fattree3-32768-h100-400g-ib");
  run("ResIST round, 8,192 H100 on a dragonfly", {"strategy.workers=8192", "strategy.min_depth=1"},
      "dragonfly-8192-h100-200g");
  run("data-parallel, 8,192 H100 dragonfly, ring", {"strategy.workers=8192", "strategy.name=data_parallel"},
      "dragonfly-8192-h100-200g");
  return 0;
}
