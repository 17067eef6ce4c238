// Simulated against measured: two traces of the same plan matched operation by operation
// (round, worker, op id), with errors per operation kind, per round and overall.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/trace.hpp"

namespace resist {

/// One operation on one worker in both traces. Durations are effective_duration()s.
struct OpComparison {
  std::uint64_t round = 0;
  WorkerId worker = 0;
  OpId op = 0;
  OpKind kind = OpKind::compute;
  std::uint64_t bytes = 0;
  double flops = 0;
  double predicted_s = 0;
  double measured_s = 0;
};

struct KindComparison {
  OpKind kind = OpKind::compute;
  std::size_t count = 0;
  double predicted_s = 0;  ///< summed over the operations
  double measured_s = 0;
  double error = 0;                 ///< (predicted - measured) / measured of the sums
  double median_abs_op_error = 0;   ///< median over operations of |relative error|
};

struct RoundComparison {
  std::uint64_t round = 0;
  double predicted_s = 0, measured_s = 0, error = 0;
  double predicted_compute_s = 0, measured_compute_s = 0;
  double predicted_comm_s = 0, measured_comm_s = 0;
};

struct Comparison {
  TraceMeta simulated, measured;
  std::vector<OpComparison> ops;        ///< in (round, worker, op) order
  std::vector<KindComparison> kinds;    ///< kinds present, in OpKind order
  std::vector<RoundComparison> rounds;  ///< rounds in both traces
  std::vector<std::uint64_t> only_simulated_rounds, only_measured_rounds;
  double median_round_error = 0;  ///< of |relative error| per round
  double p90_round_error = 0;
  double predicted_total_s = 0, measured_total_s = 0, total_error = 0;

  /// The operations whose predicted and measured durations differ most (absolute seconds).
  std::vector<OpComparison> top_differences(std::size_t n) const;
};

/// Matches the traces over the rounds both hold. Throws InputError (naming `measured_source`,
/// or `simulated_source` when the fault is the simulated trace's) when they are not from the same
/// plan: other strategy, other worker count, no round in common, or an operation in a common round
/// that only one trace has or that has another kind there.
Comparison compare_traces(const Trace& simulated, const std::string& simulated_source,
                          const Trace& measured, const std::string& measured_source);

/// Relative error (predicted - measured) / measured; 0 when both are 0.
double relative_error(double predicted, double measured);
/// The q-quantile (0..1, nearest rank) of values; 0 for none.
double quantile(std::vector<double> values, double q);

nlohmann::json comparison_to_json(const Comparison& c);
std::string comparison_text(const Comparison& c);

/// How many rounds must be simulated to compare with `measured` (its last round + 1); an
/// InputError naming `source` when a round lies beyond the scenario's `total_rounds` (a trace of
/// another scenario: simulating up to it could take forever).
std::uint64_t rounds_to_simulate(const Trace& measured, std::uint64_t total_rounds, const std::string& source);

}  // namespace resist
