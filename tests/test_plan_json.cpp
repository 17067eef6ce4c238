// The plan's JSON form: round trips and rejected documents.
#include <doctest/doctest.h>

#include "plan/plan_json.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using nlohmann::json;

namespace {

json plan_doc() {
  return plan_to_json(make_plan(test::scenario({"strategy.workers=8", "strategy.min_depth=4"}), 3));
}

std::string load_error(const json& doc) {
  return test::input_error([&] { plan_from_json(doc, "p.json"); });
}

}  // namespace

TEST_CASE("plans survive a JSON round trip") {
  const std::vector<std::vector<std::string>> scenarios = {
      {"strategy.workers=8", "strategy.min_depth=4"},
      {"strategy.name=local_sgd"},
      {"strategy.name=data_parallel", "training.dtype=bf16"},
      {"strategy.warmup_rounds=1"},
      {"model.arch=mlp", "model.hidden=[64,32]", "strategy.name=ist"},
      {"strategy.name=data_parallel", "collectives.allreduce=hierarchical_ring"},
      {"strategy.name=data_parallel", "collectives.allreduce=double_tree"}};
  for (const auto& sets : scenarios) {
    CAPTURE(sets.front());
    const Plan plan = make_plan(test::scenario(sets), 3);
    const json once = plan_to_json(plan);
    const Plan back = plan_from_json(json::parse(once.dump()), "p.json");
    CHECK(plan_to_json(back) == once);
    CHECK(back.network.total_params() == plan.network.total_params());
  }
}

TEST_CASE("the JSON form has the fields tools rely on") {
  const json j = plan_doc();
  CHECK(j["format"] == "resist-plan");
  CHECK(j["version"] == 2);
  CHECK(j["strategy"] == "resist");
  CHECK(j["workers"] == 8);
  CHECK(j["rounds"].size() == 3);
  CHECK(j["rounds"][1]["payload_bytes"].is_number_unsigned());
  CHECK(j["rounds"][1]["wire_bytes"].is_number_unsigned());
  CHECK(j["rounds"][1]["assignments"].size() == 8);
  CHECK(j["rounds"][1]["assignments"][0]["blocks"][0] == "conv1");
  CHECK(j["rounds"][0]["ops"][0]["kind"] == "compute");
}

TEST_CASE("bad plan documents are refused with a pointer") {
  json doc = plan_doc();
  SUBCASE("another version") {
    doc["version"] = 1;
    CHECK(load_error(doc) == "p.json: /version: a plan of version 1 (this resist reads version 2): write it "
                             "again with resist plan --format json");
  }
  SUBCASE("an unknown block") {
    doc["rounds"][1]["assignments"][2]["blocks"][3] = "layer9.9";
    CHECK(load_error(doc) ==
          "p.json: /rounds/1/assignments/2/blocks/3: unknown block \"layer9.9\" for preact_resnet101");
  }
  SUBCASE("a block table from another model") {
    doc["model"]["arch"] = "preact_resnet152";
    CHECK(load_error(doc) == "p.json: /blocks: expected the 48 blocks of preact_resnet152, found 35");
  }
  SUBCASE("a broken model section") {
    doc["model"]["classes"] = 0;
    CHECK(load_error(doc) == "p.json: /model/classes: expected an integer >= 1, found 0");
  }
  SUBCASE("an invariant broken") {
    doc["rounds"][0]["ops"][8]["deps"] = {9};
    CHECK(load_error(doc) == "p.json: /rounds/0/ops/8/deps: dependency 9 is not an earlier op");
  }
  SUBCASE("a compute op without its worker") {
    REQUIRE(doc["rounds"][0]["ops"][0]["kind"] == "compute");
    doc["rounds"][0]["ops"][0].erase("worker");
    CHECK(load_error(doc) == "p.json: /rounds/0/ops/0: a compute op needs its \"worker\"");
  }
  SUBCASE("a missing field") {
    doc.erase("workers");
    CHECK(load_error(doc) == "p.json: missing required field \"workers\"");
  }
}
