// Calibration: fits the simulator's free settings (compute efficiency, per-iteration overhead,
// bandwidth scale, per-kind op overheads, shared-link efficiency) to a measured trace of a
// scenario's plan, then checks the fit by simulating again.
#pragma once

#include <string>
#include <vector>

#include "input/scenario.hpp"
#include "plan/plan.hpp"
#include "topology/cluster.hpp"
#include "trace/trace_compare.hpp"

namespace resist {

/// The highest compute efficiency a fit may give: FLOPs are counted as a direct convolution does
/// them, and Winograd's F(2x2, 3x3), which oneDNN and cuDNN choose for 3x3 convolutions, multiplies
/// 2.25 times less; beyond that the cluster's peak FLOP/s is too low for the machine.
inline constexpr double kMaxEfficiency = 2.25;

/// The lowest shared-link efficiency a fit may give: two TCP flows through one queue losing more
/// than 70% of a link is a broken network, not one to predict.
inline constexpr double kMinSharedLinkEfficiency = 0.3;

struct Calibration {
  SimSettings before, after;
  Comparison before_comparison, after_comparison;
  std::vector<std::string> notes;  ///< what the fit could not determine, and what it did instead
};

/// Simulates the scenario's plan for the rounds `measured` holds, fits the settings to the
/// measured operations (a fitted value outside plausible bounds is not taken: the one before is
/// kept, with a note), and simulates again with them. InputError when the trace is not of this
/// scenario's plan (see compare_traces).
Calibration calibrate(const Scenario& scenario, const Trace& measured, const std::string& measured_source);

/// Settings with their shared-link efficiency fitted, their comparison with the trace, and what the
/// fit could not tell (empty: nothing).
struct SharedFit {
  SimSettings settings;
  Comparison comparison;
  std::string note;
};

/// Fits `settings.shared_link_efficiency` alone to the measured rounds' communication time (after
/// the warm-up rounds), by simulating the plan; calibrate() calls it. Kept, with a note, where the
/// trace cannot tell it (no two flows share a link for long) or sharing cannot explain the time.
SharedFit fit_shared_link_efficiency(const Plan& plan, const Cluster& cluster, const Trace& measured,
                                     const std::string& measured_source, SimSettings settings);

/// Adds a note when the calibrated settings predict the measured trace worse than the settings
/// before (median per-round error); calibrate() calls it.
void judge_calibration(Calibration& c);

/// The scenario document with the calibrated settings in its "sim" section.
nlohmann::json calibrated_document(const Scenario& scenario, const SimSettings& settings);

std::string calibration_text(const Calibration& c);
nlohmann::json calibration_to_json(const Calibration& c);

}  // namespace resist
