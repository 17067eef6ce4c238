// Benchmark: plan generation speed. Prints figures; asserts nothing.
//   build/tools/bench_plan [workers] [rounds] [arch]
#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "plan/generator.hpp"
#include "plan/peak_memory.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace resist;
  const int workers = argc > 1 ? std::atoi(argv[1]) : 1024;
  const std::uint64_t rounds = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const std::string arch = argc > 3 ? argv[3] : "preact_resnet200";
  for (const char* strategy : {"resist", "local_sgd", "data_parallel"}) {
    const Scenario s = default_scenario(
        {"model.arch=" + arch, fmt::format("strategy.workers={}", workers),
         std::string("strategy.name=") + strategy, "training.epochs=" + std::to_string(1e9)});
    Plan header = make_plan(s, 0);
    auto t0 = std::chrono::steady_clock::now();
    std::size_t ops = 0;
    for (std::uint64_t r = 0; r < rounds; ++r) ops += make_round(header, r).ops.size();
    const double streamed = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const Plan plan = make_plan(s, rounds);
    const double materialised = seconds_since(t0);
    fmt::print("{:<14} {} workers, {} rounds of {}: streamed {:.3f} s ({:.1f} us/round, {} ops), "
               "materialised {:.3f} s, payload {:.1f} GB\n",
               strategy, workers, rounds, arch, streamed, 1e6 * streamed / static_cast<double>(rounds),
               ops, materialised, static_cast<double>(plan.payload_bytes()) / 1e9);
  }
  fmt::print("peak resident memory: {:.0f} MiB\n", peak_rss_mib());
  return 0;
}
