// `resist sweep`: a scenario simulated at every point of a cross product of settings, in parallel
// worker processes, as one table (JSON and CSV); shards of a sweep run apart and merge into the
// same table a single run writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "input/sweep_spec.hpp"

namespace resist {

struct SweepRequest {
  std::string scenario_file;      ///< empty: the built-in default scenario
  std::vector<std::string> sets;  ///< --set, applied before each point's settings
  std::vector<SweepAxis> axes;
  std::uint64_t rounds = 20;      ///< rounds simulated per point (then extrapolated), as resist sim
  SweepShard shard;
  int jobs = 0;                   ///< worker processes; 0: one per core
};

/// Called after each finished point: (points done, points in this run, points with an error).
using SweepProgress = std::function<void(std::uint64_t, std::uint64_t, std::uint64_t)>;

/// Simulates the request's points (its shard's). The document: {"format": "resist-sweep",
/// "version", "scenario", "sets", "axes": [{"path", "values"}], "rounds", "points", ["shard":
/// {"index", "count"}], "rows": [{"point", "settings": {path: value}, "strategy", "workers",
/// "cluster", "total_rounds", "simulated_rounds", "gpus", "time_per_round_s", "compute_per_round_s",
/// "exposed_comm_per_round_s", "payload_gb_per_round", "wire_gb_per_round", "total_time_s",
/// ["speedup_vs_local_sgd"], ["cost", "currency"]} or {"point", "settings", "error"}]}, rows in
/// point order. Cost, when the cluster has a price: hours to train x the GPUs the workers occupy x
/// the GPU-hour price, plus the GB on the wire in the whole training x the per-GB price. A point
/// whose scenario is invalid, or whose simulation fails, is a row with its error.
nlohmann::json run_sweep(const SweepRequest& request, const SweepProgress& progress = {});

/// Joins the documents of a sweep's shards (each DIR/sweep.json) into the document one run of
/// the whole sweep writes. InputError when they are not the shards of one sweep, or some missing.
nlohmann::json merge_sweeps(const std::vector<std::filesystem::path>& folders);

/// The document as CSV: point, the varied settings, then the row's figures and error.
std::string sweep_csv(const nlohmann::json& document);

/// Writes DIR/sweep.json and DIR/sweep.csv (atomically; DIR made if missing).
void write_sweep(const std::filesystem::path& folder, const nlohmann::json& document);

}  // namespace resist
