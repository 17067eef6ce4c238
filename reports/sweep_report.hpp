// The sweep's HTML page (resist sweep --report): time to train against cost (or GPUs) with the
// Pareto front, speedup against workers per strategy, communication share against each varied
// setting. Self-contained like resist report's page.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace resist {

/// Indices of the points no other point beats on both `a` and `b` (lower is better; a point equal
/// on both to an earlier one is not repeated), ascending by `a`.
std::vector<std::size_t> pareto_front(const std::vector<double>& a, const std::vector<double>& b);

/// What the page draws, from a sweep document (run_sweep, merge_sweeps).
nlohmann::json sweep_report_data(const nlohmann::json& sweep);

/// The whole page.
std::string render_sweep_report(const nlohmann::json& sweep);

}  // namespace resist
