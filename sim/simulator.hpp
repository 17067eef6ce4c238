// Replaying plans on a simulated cluster. This header needs no SimGrid: callers just get results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "trace/trace.hpp"
#include "trace/trace_stats.hpp"
#include "topology/cluster.hpp"

namespace resist {

/// Bytes that crossed one direction of one link.
struct LinkLoad {
  std::string name;  ///< cluster link name with _UP or _DOWN
  std::string kind;
  double bandwidth = 0;
  double bytes = 0;
};

/// What a simulation predicts for one plan.
struct SimResult {
  std::string strategy;
  int workers = 0;
  std::string collective_model;  ///< "step" or "coarse"
  /// How compute was timed, for people: each device model's roofline (rate, memory bandwidth) or
  /// FLOP rate, and the efficiency; or the cost table and its scale; and any per-iteration overhead.
  std::string compute_model;
  std::uint64_t total_rounds = 0;
  std::vector<RoundTiming> rounds;  ///< the simulated rounds
  double simulated_s = 0;           ///< end of the last simulated round
  double total_time_s = 0;          ///< whole training (extrapolated if not all rounds ran)
  bool extrapolated = false;
  std::vector<LinkLoad> links;  ///< busiest first
  Trace trace;
  std::uint64_t transfers = 0;  ///< simulated point-to-point transfers
  double wall_s = 0;            ///< time the simulation itself took
  double peak_rss_mib = 0;      ///< peak memory of the simulating process
};

/// The scenario's cluster (built-in name, or a file relative to the scenario); InputError naming
/// the scenario's /cluster when it has none or it does not load.
Cluster scenario_cluster(const Scenario& s);

/// Checks that a plan can run on a cluster: a GPU for every worker, a rate for its dtype.
/// Throws InputError naming the scenario (`scenario_source`) or the cluster file.
void check_fit(const Plan& plan, const Cluster& cluster, const std::string& scenario_source);

/// Simulates every round the plan holds on the cluster. Each call runs in its own process
/// (SimGrid's engine is one per process), so calls are independent and a crash is reported.
SimResult simulate(const Plan& plan, const Cluster& cluster, const SimSettings& settings);

/// Whether a run uses the coarse collective model under these settings.
bool uses_coarse_collectives(const SimSettings& settings, int workers);

}  // namespace resist
