// Per-round timing of a trace, simulated or measured: the same breakdown for both.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/trace.hpp"

namespace resist {

/// One round's wall-clock split. Rounds tile the timeline: a round starts when the previous one
/// ended on its last worker and ends when it ends on its last worker.
struct RoundTiming {
  std::uint64_t index = 0;
  double start = 0;
  double end = 0;
  double time_s = 0;          ///< end - start
  double compute_s = 0;       ///< longest compute of any worker
  double comm_s = 0;          ///< longest time any worker had data moving (an op counts from
                              ///< when its last member started it)
  double exposed_comm_s = 0;  ///< time_s - compute_s: time not hidden behind compute
};

/// Timings of every round that has spans, in round order.
std::vector<RoundTiming> round_timings(const std::vector<TraceEvent>& events,
                                       const std::vector<RoundSpan>& spans);

}  // namespace resist
