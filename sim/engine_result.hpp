// Internal to sim/: what the simulation's child process hands its parent, and how it is encoded.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/backend.hpp"

namespace resist::sim {

/// What the child records of an op or a round: its place in the plan and its times. The parent
/// turns them into trace events with the plan it holds (32 bytes each through the pipe; the trace
/// as JSON text took ~2 KiB per event in each process, and a fifth of the time of an 8,192-worker
/// round went to writing and parsing it).
struct Record {
  WorkerId worker = 0;
  std::uint32_t round = 0;  ///< position in plan.rounds
  OpId op = 0;              ///< (rounds: unused)
  double start = 0;
  double end = 0;
};
static_assert(std::is_trivially_copyable_v<Record>);

/// Records every op and round an interpreter completes, as Records.
class CompactRecorder final : public Observer {
 public:
  explicit CompactRecorder(const Plan& plan) : plan_(plan) {}
  void on_op(const OpCall& call, double start, double end) override;
  void on_round(const Plan& plan, const Round& round, WorkerId self, double start, double end) override;
  std::vector<Record> ops, rounds;

 private:
  std::uint32_t position(const Round& round) const;
  const Plan& plan_;
};

/// A simulation's outcome as the child hands it over: a JSON summary (links, transfers, wall_s,
/// peak_rss_mib; or error) and the records.
struct EngineResult {
  nlohmann::json summary;
  std::vector<Record> ops, rounds;
};

/// The summary's length and text, then each list of records with its count.
std::string encode(const EngineResult& result);
/// Reads what `encode` wrote; throws std::runtime_error("simulation ended without a result") if
/// it was cut short (the child died while writing).
EngineResult decode(const std::string& bytes);

}  // namespace resist::sim
