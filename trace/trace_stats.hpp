// Per-round timing of a trace, simulated or measured: the same breakdown for both.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "trace/trace.hpp"

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

/// When each communication op of each round could first move data: the latest start among its
/// members (a receive posted early waits for its sender, and that wait is not communication).
std::map<std::pair<std::uint64_t, OpId>, double> comm_ready_times(const std::vector<TraceEvent>& events);

/// An event's duration as the op's own time: compute from its start, communication from when
/// the op was ready (comm_ready_times) to this member's end.
double effective_duration(const TraceEvent& e,
                          const std::map<std::pair<std::uint64_t, OpId>, double>& ready);

/// Timings of every round that has spans, in round order.
std::vector<RoundTiming> round_timings(const std::vector<TraceEvent>& events,
                                       const std::vector<RoundSpan>& spans);

}  // namespace resist
