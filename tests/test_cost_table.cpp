// Cost tables (plan/cost_table.hpp): what a sub-network costs from its blocks' measured times, and
// tables that are refused (malformed, or measured for another network, batch or dtype).
#include <doctest/doctest.h>

#include "plan/cost_table.hpp"
#include "tests/cost_table_helpers.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using nlohmann::json;

namespace {

Scenario resist_scenario() {
  return test::scenario({"strategy.workers=3", "strategy.min_depth=1", "model.arch=preact_resnet34",
                         "model.width=0.25", "model.classes=10", "strategy.local_iterations=4",
                         "training.batch_size=32", "training.epochs=null", "training.rounds=2"});
}

std::string refusal(const json& doc) {
  return test::input_error([&] { parse_cost_table(doc, "costs.json"); });
}

}  // namespace

TEST_CASE("a sub-network's iteration costs its blocks, the step over its parameters and the fixed part") {
  const Plan plan = make_plan(resist_scenario());
  const CostTable t = test::made_up_table(plan);
  const Round& r = plan.rounds.at(0);
  REQUIRE(r.phase == Phase::resist);
  for (const Assignment& a : r.assignments) {
    double expected = t.fixed_s + t.step_s_per_param * static_cast<double>(a.params);
    for (BlockIndex b : a.blocks) expected += t.blocks[b].forward_s + t.blocks[b].backward_s;
    CHECK(t.iteration_seconds(plan.network, a) == doctest::Approx(expected).epsilon(1e-12));
  }
  // Sub-networks of different blocks cost differently, though close in FLOPs: not a FLOP share.
  CHECK(t.iteration_seconds(plan.network, r.assignments[0]) != t.iteration_seconds(plan.network, r.assignments[1]));
}

TEST_CASE("an IST slice costs its share of the blocks by FLOPs") {
  const Plan plan = make_plan(default_scenario({"strategy.name=ist", "model.arch=mlp", "model.hidden=[64,64]",
                                                "model.input=[1,8,8]", "model.classes=10", "strategy.workers=2",
                                                "training.epochs=null", "training.rounds=1"}));
  const CostTable t = test::made_up_table(plan);
  const Assignment& a = plan.rounds.at(0).assignments.at(0);
  REQUIRE(!a.neurons.empty());
  double blocks = 0, flops = 0;
  for (BlockIndex b : a.blocks) {
    blocks += t.blocks[b].forward_s + t.blocks[b].backward_s;
    flops += plan.network.blocks[b].train_flops();
  }
  CHECK(a.flops_per_sample < flops);
  CHECK(t.iteration_seconds(plan.network, a) ==
        doctest::Approx(blocks * a.flops_per_sample / flops + t.step_s_per_param * a.params + t.fixed_s));
}

TEST_CASE("a table reads back what was written") {
  const Plan plan = make_plan(resist_scenario());
  const CostTable t = test::made_up_table(plan);
  const CostTable back = parse_cost_table(cost_table_to_json(t), "costs.json");
  CHECK(back.source == "costs.json");
  CHECK(back.model == t.model);
  CHECK(back.batch_size == 32);
  REQUIRE(back.blocks.size() == plan.network.blocks.size());
  CHECK(back.blocks[3].id == t.blocks[3].id);
  CHECK(back.blocks[3].backward_s == t.blocks[3].backward_s);
  CHECK(back.fixed_s == t.fixed_s);
  CHECK_NOTHROW(check_cost_table(back, plan));
}

TEST_CASE("malformed tables are refused with the place named") {
  const Plan plan = make_plan(resist_scenario());
  const json good = cost_table_to_json(test::made_up_table(plan));
  CHECK(refusal(json::array()) == "costs.json: expected a cost table object, found an array of 0");
  json doc = good;
  doc["format"] = "resist-trace";
  CHECK(refusal(doc).find("costs.json: /format: expected \"resist-cost-table\"") == 0);
  doc = good;
  doc["version"] = 7;
  CHECK(refusal(doc).find("costs.json: /version: expected version 1, found 7") == 0);
  doc = good;
  doc.erase("blocks");
  CHECK(refusal(doc) == "costs.json: expected member \"blocks\" (an array of blocks)");
  doc = good;
  doc["blocks"] = json::array();
  CHECK(refusal(doc) == "costs.json: /blocks: expected at least one block");
  doc = good;
  doc["blocks"][2]["forward_s"] = -1;
  CHECK(refusal(doc) == "costs.json: /blocks/2/forward_s: expected seconds from 0 to 3600, found -1");
  doc = good;
  doc["blocks"][2]["backward_s"] = "fast";
  CHECK(refusal(doc).find("costs.json: /blocks/2/backward_s: expected a number of seconds, found") == 0);
  doc = good;
  doc["blocks"][4]["id"] = doc["blocks"][3]["id"];
  CHECK(refusal(doc).find("costs.json: /blocks/4/id: block \"") == 0);
  doc = good;
  doc["blocks"][1] = 3;
  CHECK(refusal(doc).find("costs.json: /blocks/1: expected an object") == 0);
  doc = good;
  doc["batch_size"] = 0;
  CHECK(refusal(doc) == "costs.json: /batch_size: expected 1 to 1000000, found 0");
  doc = good;
  doc["dtype"] = "fp8";
  CHECK(refusal(doc) == "costs.json: /dtype: expected fp32, fp16 or bf16, found \"fp8\"");
  doc = good;
  doc["step_s_per_param"] = 2;
  CHECK(refusal(doc) == "costs.json: /step_s_per_param: expected seconds from 0 to 1, found 2");
  doc = good;
  doc["fixed_s"] = 1e308 * 10;  // infinity
  CHECK(refusal(doc).find("costs.json: /fixed_s: expected") == 0);
}

TEST_CASE("a table of another network, batch, dtype or memory format is refused for a plan") {
  const Scenario s = resist_scenario();
  const Plan plan = make_plan(s);
  const CostTable t = test::made_up_table(plan);
  const auto refused = [&](const Scenario& other) {
    return test::input_error([&] { check_cost_table(t, make_plan(other)); });
  };
  const auto with = [&](const std::string& set) {
    std::vector<std::string> sets = {"strategy.workers=3", "strategy.min_depth=1", "model.arch=preact_resnet34",
                                     "model.width=0.25", "model.classes=10", "strategy.local_iterations=4",
                                     "training.batch_size=32", "training.epochs=null", "training.rounds=2"};
    sets.push_back(set);
    return test::scenario(sets);
  };
  CHECK(refused(with("training.batch_size=64"))
            .find("/batch_size: the table was measured for batch_size 32, the scenario has 64: run `resist "
                  "profile` on this scenario") != std::string::npos);
  CHECK(refused(with("model.width=0.5")).find("/model: the table was measured for model") != std::string::npos);
  CHECK(refused(with("training.dtype=bf16")).find("/dtype: the table was measured for dtype fp32, the scenario has bf16") !=
        std::string::npos);
  CHECK(refused(with("training.memory_format=channels_last")).find("/memory_format:") != std::string::npos);
  CHECK(refused(with("strategy.local_iterations=2")).empty());  // the network is the same
  CostTable renamed = t;
  renamed.blocks[5].id = "layer9.9";
  CHECK(test::input_error([&] { check_cost_table(renamed, plan); })
            .find("/blocks/5/id: expected block \"" + plan.network.blocks[5].id + "\" (forward order), found \"layer9.9\"") !=
        std::string::npos);
  CostTable shorter = t;
  shorter.blocks.pop_back();
  CHECK(test::input_error([&] { check_cost_table(shorter, plan); }).find("/blocks: expected the network's") != std::string::npos);
}
