// `resist report [SCENARIO] [--measured TRACE] --out report.html`: one self-contained HTML page
// with the scenario's strategies simulated side by side, and, given a measured run, the
// simulated and measured timelines and the comparison's errors.
#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "input/json_file.hpp"
#include "reports/report.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct ReportOptions {
  std::string scenario, measured, out, compare = "local_sgd,data_parallel";
  std::vector<std::string> sets;
  std::uint64_t rounds = 20;
  std::uint64_t timeline_rounds = 2;
};

int run_report(const ReportOptions& o) {
  const Scenario s = scenario_or_default(o.scenario, o.sets);
  const Cluster cluster = scenario_cluster(s);
  ReportInputs in;
  in.scenario = &s;
  in.cluster_name = cluster.name.empty() ? s.cluster : cluster.name;
  in.timeline_rounds = o.timeline_rounds;
  std::uint64_t rounds = o.rounds;
  if (!o.measured.empty()) {
    in.measured = load_trace(o.measured);
    in.measured_label = in.measured->meta.strategy + ", measured (" + o.measured + ")";
    rounds = std::max(rounds, rounds_to_simulate(*in.measured, s.total_rounds(), o.measured));
  }
  in.predictions = predict_strategies(s, cluster, parse_strategy_list(o.compare), rounds);
  if (in.measured)
    in.comparison = compare_traces(in.predictions.front().result.trace, "the simulation of " + s.source,
                                   *in.measured, o.measured);
  write_file_atomically(o.out, render_report(in));
  fmt::print("report: {} ({} strategies{})\n", o.out, in.predictions.size(),
             in.comparison ? ", simulated against measured" : "");
  return 0;
}

}  // namespace

Runner add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Write one self-contained HTML report: strategies side by side, per-round time split, "
                "per-worker timelines, and errors against a measured run");
  sub->add_option("scenario", o->scenario, "Scenario JSON file (default: the built-in one)");
  sub->add_option("--measured", o->measured, "Measured trace of the scenario's plan (resist run --trace)");
  sub->add_option("--compare", o->compare, "Strategies to simulate beside the scenario's (comma-separated)");
  sub->add_option("--rounds", o->rounds, "Rounds to simulate (default 20; at least the measured ones)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--timeline-rounds", o->timeline_rounds, "Rounds the timelines show (default 2)")
      ->check(CLI::PositiveNumber);
  add_set_option(sub, o->sets);
  sub->add_option("--out", o->out, "The HTML file to write (atomically)")->required();
  return [o] { return run_report(*o); };
}

}  // namespace resist::cli
