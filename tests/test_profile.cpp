// `resist profile`: a network's cost table measured on this machine, and the simulator timing
// compute from it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "plan/cost_table.hpp"
#include "tests/cli_helpers.hpp"

using namespace resist::test;
using nlohmann::json;

namespace {

const std::string kTiny = kTinyRun + " --set training.rounds=2";

}  // namespace

TEST_CASE("resist profile measures every block and writes a table the simulator takes") {
  const fs::path dir = scratch() / "profile";
  fs::create_directories(dir);
  const fs::path table = dir / "costs.json";
  const Result r = run_resist("profile" + kTiny + " --repetitions 3 --table '" + table.string() + "'");
  INFO(r.out, r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("cost table: ") == 0);
  CHECK(r.out.find("layer3.2") != std::string::npos);
  CHECK(r.out.find("one iteration") != std::string::npos);
  const resist::CostTable t = resist::load_cost_table(table);
  REQUIRE(t.blocks.size() == 8);  // stem, 1 + 1 + 3 + 1 blocks, head
  for (const resist::BlockCost& b : t.blocks) {
    CHECK(b.forward_s > 0);
    CHECK(b.backward_s > 0);
  }
  CHECK(t.iteration_s > 0);
  CHECK(t.step_s_per_param > 0);
  CHECK(t.batch_size == 16);
  CHECK(t.measured["threads"] == 1);
  CHECK(t.measured["device"] == "cpu");
  CHECK(t.measured["libtorch"].get<std::string>().size() > 2);
  CHECK(t.measured["repetitions"] == 3);
  CHECK(t.model["width"] == 0.125);
  // No trace of the worker's own files is left behind.
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
    CHECK(e.path().filename().string().rfind("resist-profile-", 0) != 0);
#ifdef RESIST_HAVE_SIM
  SUBCASE("resist sim times compute from it") {
    const std::string set = " --set cluster=cpu-local --set strategy.workers=2 --format json";
    const Result with = run_resist("sim" + kTiny + set + " --set sim.cost_table='" + table.string() + "'");
    INFO(with.err);
    REQUIRE(with.code == 0);
    const Result without = run_resist("sim" + kTiny + set);
    REQUIRE(without.code == 0);
    CHECK(json::parse(with.out)["strategies"][0]["total_time_s"] != json::parse(without.out)["strategies"][0]["total_time_s"]);
    const Result other = run_resist("sim" + kTiny + set + " --set training.batch_size=8 --set sim.cost_table='" +
                                    table.string() + "'");
    CHECK(other.code == 2);
    CHECK(other.err.find(table.string() + ": /batch_size: the table was measured for batch_size 16, the scenario "
                         "has 8") != std::string::npos);
  }
#endif
  fs::remove_all(dir);
}

TEST_CASE("resist profile of a layer-parallel scenario times the whole network, as for any strategy") {
  const fs::path table = scratch() / "lp-costs.json";
  const Result r = run_resist("profile" + kTiny + " --set strategy.name=layer_parallel --set strategy.workers=2"
                              " --repetitions 2 --table '" + table.string() + "'");
  INFO(r.out, r.err);
  REQUIRE(r.code == 0);
  CHECK(resist::load_cost_table(table).blocks.size() == 8);
  fs::remove(table);
}

TEST_CASE("resist profile refuses what it cannot measure, writing nothing") {
  const fs::path table = scratch() / "never.json";
  Result r = run_resist("profile" + kTiny + " --set training.batch_size=0 --table '" + table.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find("/training/batch_size") != std::string::npos);
  r = run_resist("profile --set model.arch=resnet50 --set model.classes=10 --table '" + table.string() + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find("/model/arch: the executor builds pre-activation ResNets") != std::string::npos);
  r = run_resist("profile" + kTiny + " --repetitions 0");
  CHECK(r.code == 2);
  CHECK(!fs::exists(table));
}
