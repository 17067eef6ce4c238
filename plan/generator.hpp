// The plan generator: the one place that knows the training protocols.
#pragma once

#include <cstdint>
#include <optional>

#include "plan/plan.hpp"
#include "input/scenario.hpp"

namespace resist {

/// The most memory a materialised plan may take (4 GiB): a plan whose rounds would need more is
/// refused before they are made.
inline constexpr std::uint64_t kMaxPlanBytes = std::uint64_t{4} << 30;

/// Builds the plan of a scenario: the header and the first `max_rounds` rounds (all by default).
/// Throws InputError naming the scenario when those rounds would need more than kMaxPlanBytes
/// (estimated from the first round).
Plan make_plan(const Scenario& scenario, std::optional<std::uint64_t> max_rounds = std::nullopt);

/// Memory a round takes, in bytes (its vectors' contents included), for the plan size bound.
std::uint64_t round_bytes(const Round& round);

/// Builds round `index` of a plan from its header alone (rounds are independent of each other,
/// so any round can be made without the ones before it).
Round make_round(const Plan& plan, std::uint64_t index);
/// Round `index`: a copy of the one the plan holds, or generated when the plan is truncated.
Round round_at(const Plan& plan, std::uint64_t index);

}  // namespace resist
