// Every input the fuzz targets keep (tests/fuzz/corpus: the seeds from the shipped files and what
// fuzzing found) replayed through its target in every test run: bad input may only be refused
// with InputError, never crash, abort or escape as another exception (tools/fuzz.sh fuzzes).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/fuzz/targets.hpp"
#include "tests/helpers.hpp"

namespace fs = std::filesystem;

namespace {

/// Runs every file of tests/fuzz/corpus/NAME through `target`; returns how many it accepted.
/// The seeds made from the shipped files (named *.json; what fuzzing adds is named by its hash)
/// must be accepted: otherwise the
/// fuzzer starts from inputs its loader refuses at the first byte.
template <class Target>
int replay(const std::string& name, Target target) {
  const fs::path folder = resist::test::source_root() / "tests/fuzz/corpus" / name;
  REQUIRE_MESSAGE(fs::is_directory(folder), folder.string());
  int n = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    INFO(entry.path().string());
    bool accepted = false;
    CHECK_NOTHROW(accepted = target(text.str()));  // InputError is caught inside the target
    const bool seed = entry.path().extension() == ".json";
    if (seed) CHECK_MESSAGE(accepted, "a seed made from a shipped file is refused");
    n += accepted;
  }
  return n;
}

}  // namespace

TEST_CASE("scenario corpus") { CHECK(replay("fuzz_scenario", resist::fuzz::scenario) >= 5); }
TEST_CASE("cluster corpus") { CHECK(replay("fuzz_cluster", resist::fuzz::cluster) >= 6); }
TEST_CASE("plan corpus") { CHECK(replay("fuzz_plan", resist::fuzz::plan) >= 5); }
TEST_CASE("cost table corpus") { CHECK(replay("fuzz_cost_table", resist::fuzz::cost_table) >= 1); }
#ifdef RESIST_HAVE_SIM
TEST_CASE("trace corpus for compare") { CHECK(replay("fuzz_trace_compare", resist::fuzz::trace_compare) >= 2); }
TEST_CASE("trace corpus for calibrate") { CHECK(replay("fuzz_trace_calibrate", resist::fuzz::trace_calibrate) >= 2); }
TEST_CASE("sweep shard corpus for merge") { CHECK(replay("fuzz_sweep_merge", resist::fuzz::sweep_merge) >= 2); }
#endif
