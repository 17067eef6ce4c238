// Structural invariants every plan must satisfy, whoever made it.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace resist {

/// A violated invariant, located by JSON pointer into the plan's JSON form.
struct PlanProblem {
  std::string pointer;
  std::string message;
};

/// Checks ids, groups, roots, dependencies, assignments, block coverage and byte totals.
/// Returns every problem found (empty for a sound plan).
std::vector<PlanProblem> check_plan(const Plan& plan);

}  // namespace resist
