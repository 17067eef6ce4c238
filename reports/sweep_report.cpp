#include "reports/sweep_report.hpp"

#include <algorithm>
#include <numeric>

#include "reports/assets.hpp"
#include "reports/report.hpp"

namespace resist {

using nlohmann::json;

std::vector<std::size_t> pareto_front(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<std::size_t> order(a.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
    return a[i] != a[j] ? a[i] < a[j] : b[i] < b[j];
  });
  std::vector<std::size_t> front;
  for (std::size_t i : order)  // by a ascending: on the front when b beats every point before it
    if (front.empty() || b[i] < b[front.back()]) front.push_back(i);
  return front;
}

json sweep_report_data(const json& sweep) {
  json rows = json::array(), errors = json::array();
  bool all_costed = true;
  std::string currency;
  for (const json& row : sweep["rows"]) {
    std::string label;
    for (const auto& [path, value] : row["settings"].items())
      label += (label.empty() ? "" : ", ") + path + "=" + value.get<std::string>();
    if (row.contains("error")) {
      errors.push_back({{"label", label}, {"error", row["error"]}});
      continue;
    }
    all_costed = all_costed && row.contains("cost");
    if (row.contains("currency")) currency = row["currency"].get<std::string>();
    const double per_round = row["time_per_round_s"].get<double>();
    rows.push_back({{"point", row["point"]}, {"label", label}, {"settings", row["settings"]},
                    {"strategy", row["strategy"]}, {"workers", row["workers"]}, {"gpus", row["gpus"]},
                    {"total_time_s", row["total_time_s"]}, {"cost", row.value("cost", json())},
                    {"comm_share", per_round > 0 ? row["exposed_comm_per_round_s"].get<double>() / per_round : 0.0},
                    {"speedup", row.value("speedup_vs_local_sgd", json())}});
  }
  const std::string against = all_costed && !rows.empty() ? "cost" : "gpus";
  std::vector<double> time, other;
  for (const json& r : rows) {
    time.push_back(r["total_time_s"].get<double>());
    other.push_back(r[against].get<double>());
  }
  json front = json::array();
  for (std::size_t i : pareto_front(other, time)) {
    rows[i]["pareto"] = true;
    front.push_back(i);
  }
  return {{"scenario", sweep["scenario"]}, {"axes", sweep["axes"]}, {"rounds", sweep["rounds"]},
          {"points", sweep["points"]}, {"against", against}, {"currency", currency},
          {"rows", std::move(rows)}, {"front", std::move(front)}, {"errors", std::move(errors)}};
}

std::string render_sweep_report(const json& sweep) { return render_page(sweep_template(), sweep_report_data(sweep)); }

}  // namespace resist
