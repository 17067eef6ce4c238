// Fuzz target: a plan file (resist plan --format json). What it accepts must write back to the
// same document and load again: a plan that loads differently from what it says is a lie.
#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "plan/plan_json.hpp"

RESIST_FUZZ_TARGET(plan) {
  return run([&] {
    const std::string source = "fuzz-plan.json";
    const resist::Plan plan = resist::plan_from_json(resist::parse_json_text(text, source), source);
    const nlohmann::json written = resist::plan_to_json(plan);
    try {
      if (resist::plan_to_json(resist::plan_from_json(written, "written")) != written)
        resist::fuzz::fail("an accepted plan written and read again differs");
    } catch (const resist::InputError&) {
      resist::fuzz::fail("an accepted plan, written again, is refused");
    }
  });
}
