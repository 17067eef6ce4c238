// `resist sweep [SCENARIO] --vary path=values ... --out DIR`: the scenario simulated at every
// point of the varied settings' cross product, on all cores, into DIR/sweep.csv and sweep.json;
// `--shard i/n` runs a part, `resist sweep --merge DIR... --out DIR` joins the parts.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#ifdef RESIST_HAVE_REPORT
#include "reports/sweep_report.hpp"
#endif
#include "sim/sweep.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct SweepOptions {
  std::string scenario, out, shard, report;
  std::vector<std::string> vary, sets, merge;
  std::uint64_t rounds = 20;
  int jobs = 0;
};

/// "sweep: 37/100 points (2 with errors), 12 s, about 20 s left": rewritten in place on a terminal,
/// else a line at every tenth of the points.
SweepProgress progress_line() {
  const auto start = std::chrono::steady_clock::now();
  const bool terminal = ::isatty(STDERR_FILENO);
  return [start, terminal](std::uint64_t done, std::uint64_t all, std::uint64_t failed) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!terminal && done != all && done % std::max<std::uint64_t>(1, all / 10) != 0) return;
    const std::string line = fmt::format("sweep: {}/{} points ({} with errors), {:.0f} s{}", done, all, failed, s,
                                         done < all ? fmt::format(", about {:.0f} s left", s / done * (all - done)) : "");
    if (terminal)
      fmt::print(stderr, "\r{}\033[K{}", line, done == all ? "\n" : "");
    else
      fmt::print(stderr, "{}\n", line);
  };
}

int run_sweep_command(const SweepOptions& o) {
  nlohmann::json document;
  if (!o.merge.empty()) {
    if (!o.vary.empty() || !o.scenario.empty() || !o.shard.empty())
      throw InputError("--merge", "", "joins finished shards: give it their folders and --out only");
    document = merge_sweeps({o.merge.begin(), o.merge.end()});
  } else {
    if (o.vary.empty()) throw InputError("--vary", "", "expected at least one --vary path=value,value,...");
    SweepRequest r;
    r.scenario_file = o.scenario;
    r.sets = o.sets;
    for (const std::string& v : o.vary) r.axes.push_back(parse_sweep_axis(v));
    r.rounds = o.rounds;
    r.jobs = o.jobs;
    if (!o.shard.empty()) r.shard = parse_sweep_shard(o.shard);
    document = run_sweep(r, progress_line());
  }
  write_sweep(o.out, document);
#ifdef RESIST_HAVE_REPORT
  if (!o.report.empty()) write_file_atomically(o.report, render_sweep_report(document));
#endif
  std::uint64_t failed = 0;
  for (const auto& row : document["rows"]) failed += row.contains("error");
  fmt::print("sweep: {} points, {} with errors: {}/sweep.csv, {}/sweep.json\n", document["rows"].size(), failed,
             o.out, o.out);
  return 0;
}

}  // namespace

Runner add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Simulate a scenario at every combination of varied settings (strategy, workers, local "
               "iterations, cluster, dtype, batch, ...) on all cores: one CSV/JSON row per point");
  sub->add_option("scenario", o->scenario, "Scenario JSON file (default: the built-in one)");
  sub->add_option("--vary", o->vary,
                  "A setting and its values: path=v1,v2 or a range a..b+step or a..bxfactor "
                  "(e.g. strategy.workers=2..64x2); repeatable: the points are the cross product");
  add_set_option(sub, o->sets);
  sub->add_option("--rounds", o->rounds, "Rounds simulated per point (default 20), then extrapolated")
      ->check(CLI::PositiveNumber);
  sub->add_option("--jobs", o->jobs, "Simulating processes (default: one per core)")->check(CLI::PositiveNumber);
  sub->add_option("--shard", o->shard, "Run part i of n (i/n, 1-based: points i-1, i-1+n, ...) for --merge");
  sub->add_option("--merge", o->merge, "Join the --out folders of a sweep's shards into one")->expected(1, -1);
  sub->add_option("--out", o->out, "Folder for sweep.csv and sweep.json")->required();
#ifdef RESIST_HAVE_REPORT
  sub->add_option("--report", o->report, "Also write an HTML page: time to train against cost with the Pareto "
                                         "front, speedup against workers, communication share");
#endif
  return [o] { return run_sweep_command(*o); };
}

}  // namespace resist::cli
