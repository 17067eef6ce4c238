// Traces in one schema for the simulator and the executor: Chrome Trace Event JSON (opens in
// Perfetto and chrome://tracing), one track per worker, one event per plan operation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/backend.hpp"

namespace resist {

/// One completed operation on one worker.
struct TraceEvent {
  WorkerId worker = 0;
  std::uint64_t round = 0;
  OpId op = 0;
  OpKind kind = OpKind::compute;
  double start = 0;  ///< seconds
  double end = 0;
  std::uint64_t bytes = 0;
  double flops = 0;
  std::vector<std::string> blocks;
};

/// One worker's round, from its first operation's start to its last operation's end.
struct RoundSpan {
  WorkerId worker = 0;
  std::uint64_t round = 0;
  double start = 0;
  double end = 0;
};

/// What a trace came from: strategy, workers, "simulated" or "measured".
struct TraceMeta {
  std::string source;
  std::string strategy;
  int workers = 0;
  std::string arch;
  nlohmann::json extra = nlohmann::json::object();
};

/// Records operations and rounds as an interpreter's observer.
class TraceRecorder : public Observer {
 public:
  void on_op(const OpCall& call, double start, double end) override;
  void on_round(const Plan& plan, const Round& round, WorkerId self, double start,
                double end) override;

  std::vector<TraceEvent> events;
  std::vector<RoundSpan> rounds;
};

/// The Chrome Trace Event document: "X" events (microseconds), thread names per worker, and
/// resist's own fields in "args" (round, op, kind, bytes, flops, blocks) and "otherData".
nlohmann::json trace_to_json(const TraceMeta& meta, const std::vector<TraceEvent>& events,
                             const std::vector<RoundSpan>& rounds);

/// Reads a trace written by trace_to_json; throws InputError naming `source` and the pointer.
struct Trace {
  TraceMeta meta;
  std::vector<TraceEvent> events;
  std::vector<RoundSpan> rounds;
};
Trace trace_from_json(const nlohmann::json& document, const std::string& source);

}  // namespace resist
