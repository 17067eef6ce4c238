// Fuzz target: a cost table, as a scenario's sim.cost_table names it (resist profile writes them).
// What it accepts reads back the same, and for the plan it was measured for, every worker's
// iteration costs a finite, non-negative time.
#include <cmath>

#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "plan/cost_table.hpp"
#include "plan/generator.hpp"

namespace {

/// The plan of the corpus' measured table (tests/fuzz/corpus/fuzz_cost_table/tiny-cpu.json: the
/// network of tests/cli_helpers.hpp's kTinyRun, 2 ResIST workers).
const resist::Plan& tiny_plan() {
  static const resist::Plan plan = resist::make_plan(
      resist::default_scenario({"model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,3,1]",
                                "model.input=[3,8,8]", "model.classes=4", "strategy.local_iterations=4",
                                "data.dataset=synthetic", "training.batch_size=16", "training.epochs=null",
                                "training.rounds=2", "strategy.workers=2"}));
  return plan;
}

}  // namespace

RESIST_FUZZ_TARGET(cost_table) {
  return run([&] {
    const std::string source = "fuzz-costs.json";
    const resist::CostTable t = resist::parse_cost_table(resist::parse_json_text(text, source), source);
    const nlohmann::json written = resist::cost_table_to_json(t);
    try {
      if (resist::cost_table_to_json(resist::parse_cost_table(written, "written")) != written)
        resist::fuzz::fail("an accepted cost table written and read again differs");
    } catch (const resist::InputError&) {
      resist::fuzz::fail("an accepted cost table, written again, is refused");
    }
    const resist::Plan& plan = tiny_plan();
    resist::check_cost_table(t, plan);
    for (const resist::Round& r : plan.rounds)
      for (const resist::Assignment& a : r.assignments) {
        const double s = t.iteration_seconds(plan.network, a);
        if (!std::isfinite(s) || s < 0) resist::fuzz::fail("an accepted cost table gives a negative or infinite time");
      }
  });
}
