// The HTML report: strategies side by side, per-round time split, per-worker timelines of the
// simulated and measured runs, and the comparison's errors, in one self-contained file (Chart.js
// inlined, data embedded as JSON).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/trace_compare.hpp"
#include "sim/sim_text.hpp"

namespace resist {

struct ReportInputs {
  const Scenario* scenario = nullptr;
  std::string cluster_name;
  std::vector<Prediction> predictions;  ///< the scenario's strategy first
  std::optional<Trace> measured;        ///< a measured run of the first prediction's plan
  std::string measured_label;
  std::optional<Comparison> comparison;  ///< first prediction's trace against `measured`
  std::uint64_t timeline_rounds = 2;     ///< rounds the timelines show
};

/// What the page draws, as the JSON the template reads.
nlohmann::json report_data(const ReportInputs& inputs);

/// The whole HTML page.
std::string render_report(const ReportInputs& inputs);

/// A page template (/*RESIST_CHARTJS*/, /*RESIST_DATA*/null) filled with Chart.js and `data`,
/// escaped for the script element it sits in.
std::string render_page(std::string_view page_template, const nlohmann::json& data);

}  // namespace resist
