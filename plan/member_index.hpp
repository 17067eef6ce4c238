// Which ops each worker takes part in, round by round: built once for a whole plan, so that
// thousands of simulated workers do not each scan every op of every round (quadratic in workers).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "plan/plan.hpp"

namespace resist {

class MemberIndex {
 public:
  /// Indexes every round of `plan` (it must outlive the index): time and memory in the sum of the
  /// ops' group sizes.
  explicit MemberIndex(const Plan& plan);
  /// The ids of the ops of `round` (one of the plan's rounds) that `worker` is a member of, in id order.
  std::span<const OpId> ops(const Round& round, WorkerId worker) const;
  /// Whether op `id` of `round` lists its dependencies in ascending order without repeats (as the
  /// generator writes them), so that a member can look its own ops up in them.
  bool deps_sorted(const Round& round, OpId id) const;

 private:
  struct RoundOps {
    std::vector<std::uint64_t> start;  ///< per worker, then one past the last: offsets into `ops`
    std::vector<OpId> ops;
    std::vector<bool> deps_sorted;  ///< per op
  };
  const RoundOps& at(const Round& round) const;
  const Plan& plan_;
  std::vector<RoundOps> rounds_;
};

}  // namespace resist
