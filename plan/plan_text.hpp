// Plans rendered for people.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace resist {

/// Header, one row per round (blocks, parameters and FLOPs per worker, GB moved) and totals.
std::string plan_table(const Plan& plan);

/// Strategies side by side: GB per round, GB for the whole training, work per worker, and the
/// bytes of each against the first plan's.
std::string strategy_comparison(const std::vector<Plan>& plans);

/// Whole-training payload and wire bytes: exact when every round is in the plan, otherwise the
/// listed rounds' mean times the total number of rounds.
struct TrainingBytes {
  double payload = 0;
  double wire = 0;
  bool estimated = false;
};
TrainingBytes training_bytes(const Plan& plan);

}  // namespace resist
