#include "reports/report.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "reports/assets.hpp"

namespace resist {
namespace {

/// The events of rounds [first, last] with time counted from the first of them.
nlohmann::json timeline(const Trace& t, std::uint64_t first, std::uint64_t last, const std::string& label) {
  double origin = 1e300;
  for (const TraceEvent& e : t.events)
    if (e.round >= first && e.round <= last) origin = std::min(origin, e.start);
  nlohmann::json events = nlohmann::json::array();
  for (const TraceEvent& e : t.events)
    if (e.round >= first && e.round <= last)
      events.push_back({{"worker", e.worker}, {"round", e.round}, {"op", e.op}, {"kind", to_string(e.kind)},
                        {"start", e.start - origin}, {"end", e.end - origin}});
  return {{"label", label}, {"workers", t.meta.workers}, {"events", events}};
}

void replace_once(std::string& text, const std::string& marker, std::string_view with) {
  const std::size_t at = text.find(marker);
  if (at == std::string::npos) throw std::logic_error("report template lacks " + marker);
  text.replace(at, marker.size(), with);
}

}  // namespace

nlohmann::json report_data(const ReportInputs& in) {
  const Scenario& s = *in.scenario;
  nlohmann::json strategies = nlohmann::json::array();
  const nlohmann::json predicted = predictions_json(in.predictions, in.cluster_name);
  for (const nlohmann::json& p : predicted["strategies"]) {
    double payload = 0, wire = 0, time = 0;
    nlohmann::json rounds = nlohmann::json::array();
    for (const nlohmann::json& r : p["rounds"]) {
      payload += r["payload_bytes"].get<double>();
      wire += r["wire_bytes"].get<double>();
      time += r["time_s"].get<double>();
      rounds.push_back({{"compute_s", r["compute_s"]}, {"exposed_comm_s", r["exposed_comm_s"]}});
    }
    const double n = std::max<double>(1, static_cast<double>(rounds.size()));
    strategies.push_back({{"name", p["name"]}, {"total_time_s", p["total_time_s"]}, {"mean_round_s", time / n},
                          {"payload_gb_per_round", payload / n / 1e9}, {"wire_gb_per_round", wire / n / 1e9},
                          {"speedup_vs_local_sgd", p.value("speedup_vs_local_sgd", nlohmann::json())},
                          {"rounds", rounds}});
  }
  const Trace& simulated = in.predictions.front().result.trace;
  std::uint64_t first = 0;
  if (in.comparison && !in.comparison->rounds.empty()) first = in.comparison->rounds.front().round;
  const std::uint64_t last = first + std::max<std::uint64_t>(1, in.timeline_rounds) - 1;
  nlohmann::json timelines = {
      {"first_round", first}, {"last_round", last},
      {"simulated", timeline(simulated, first, last, simulated.meta.strategy + " on " + in.cluster_name)},
      {"measured", in.measured ? timeline(*in.measured, first, last, in.measured_label) : nlohmann::json()}};
  return {{"scenario", {{"name", s.name}, {"arch", s.model.arch}, {"strategy", to_string(s.strategy.kind)},
                        {"workers", s.strategy.workers}, {"local_iterations", s.strategy.local_iterations},
                        {"batch_size", s.training.batch_size}}},
          {"cluster", in.cluster_name},
          {"compute", in.predictions.front().result.compute_model},
          {"strategies", strategies},
          {"timelines", timelines},
          {"comparison", in.comparison ? comparison_to_json(*in.comparison) : nlohmann::json()}};
}

std::string render_report(const ReportInputs& in) { return render_page(report_template(), report_data(in)); }

std::string render_page(std::string_view page_template, const nlohmann::json& page_data) {
  // Text that is not UTF-8 (a file name, say) becomes U+FFFD rather than failing the page.
  const std::string json = page_data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Inside <script>, "</script>" would end the element and "<!--" start a comment that hides the
  // rest: '<', '>' and '&' are written as JSON escapes (the same strings to the page's script).
  std::string data;
  data.reserve(json.size());
  for (const char c : json) {
    if (c == '<') data += "\\u003c";
    else if (c == '>') data += "\\u003e";
    else if (c == '&') data += "\\u0026";
    else data += c;
  }
  std::string page(page_template);
  replace_once(page, "/*RESIST_DATA*/null", data);
  replace_once(page, "/*RESIST_CHARTJS*/", chartjs_source());
  return page;
}

}  // namespace resist
