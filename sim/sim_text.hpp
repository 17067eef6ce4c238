// Simulation results for people (tables) and tools (JSON).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/simulator.hpp"

namespace resist {

/// A strategy's plan with what its simulation predicted.
struct Prediction {
  Plan plan;
  SimResult result;
};

/// Simulates the scenario's strategy and then each of `others` (itself skipped) for the first
/// `rounds` rounds (at most the whole training) on the cluster.
std::vector<Prediction> predict_strategies(const Scenario& scenario, const Cluster& cluster,
                                           const std::vector<StrategyKind>& others, std::uint64_t rounds);

/// Per-round times, the busiest links and the totals of one prediction.
std::string prediction_table(const Prediction& p, const std::string& cluster_name);

/// Strategies side by side with the speedup of each against local SGD (when it is among them).
std::string prediction_comparison(const std::vector<Prediction>& predictions);

/// {"cluster", "strategies": [{"name", "total_time_s", "rounds": [{"time_s", "compute_s",
/// "comm_s", "exposed_comm_s", "payload_bytes", "wire_bytes"}], "links", ...}]}
nlohmann::json predictions_json(const std::vector<Prediction>& predictions,
                                const std::string& cluster_name);

/// "3.2 s", "4.1 min", "2.5 h".
std::string human_seconds(double seconds);

}  // namespace resist
