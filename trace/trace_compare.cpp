#include "trace/trace_compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "trace/trace_stats.hpp"

namespace resist {
namespace {

using Key = std::tuple<std::uint64_t, WorkerId, OpId>;

std::set<std::uint64_t> rounds_of(const Trace& t) {
  std::set<std::uint64_t> out;
  for (const RoundSpan& s : t.rounds) out.insert(s.round);
  return out;
}

/// Effective durations by (round, worker, op), only for the given rounds.
std::map<Key, std::pair<const TraceEvent*, double>> durations(const Trace& t, const std::set<std::uint64_t>& rounds) {
  const auto ready = comm_ready_times(t.events);
  std::map<Key, std::pair<const TraceEvent*, double>> out;
  for (const TraceEvent& e : t.events)
    if (rounds.count(e.round)) out[{e.round, e.worker, e.op}] = {&e, effective_duration(e, ready)};
  return out;
}

std::string key_text(const Key& k) {
  return fmt::format("round {} worker {} op {}", std::get<0>(k), std::get<1>(k), std::get<2>(k));
}

std::vector<RoundTiming> timings_of(const Trace& t, const std::set<std::uint64_t>& rounds) {
  std::vector<RoundSpan> spans;
  for (const RoundSpan& s : t.rounds)
    if (rounds.count(s.round)) spans.push_back(s);
  std::vector<TraceEvent> events;
  for (const TraceEvent& e : t.events)
    if (rounds.count(e.round)) events.push_back(e);
  return round_timings(events, spans);
}

std::string percent(double error) { return std::isfinite(error) ? fmt::format("{:+.1f}%", 100 * error) : "n/a"; }

}  // namespace

double relative_error(double predicted, double measured) {
  if (measured == 0) return predicted == 0 ? 0 : std::numeric_limits<double>::infinity();
  return (predicted - measured) / measured;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::vector<OpComparison> Comparison::top_differences(std::size_t n) const {
  std::vector<OpComparison> sorted = ops;
  std::stable_sort(sorted.begin(), sorted.end(), [](const OpComparison& a, const OpComparison& b) {
    return std::abs(a.predicted_s - a.measured_s) > std::abs(b.predicted_s - b.measured_s);
  });
  sorted.resize(std::min(n, sorted.size()));
  return sorted;
}

Comparison compare_traces(const Trace& sim, const std::string& sim_source, const Trace& meas,
                          const std::string& meas_source) {
  const auto refuse = [&](const std::string& pointer, const std::string& what) {
    throw InputError(meas_source, pointer,
                     fmt::format("not a trace of the same plan as {}: {}", sim_source, what));
  };
  if (sim.meta.strategy != meas.meta.strategy)
    refuse("/otherData/strategy", fmt::format("strategy {} there, {} here", sim.meta.strategy, meas.meta.strategy));
  if (sim.meta.workers != meas.meta.workers)
    refuse("/otherData/workers", fmt::format("{} workers there, {} here", sim.meta.workers, meas.meta.workers));
  if (sim.meta.arch != meas.meta.arch)
    refuse("/otherData/arch", fmt::format("model {} there, {} here", sim.meta.arch, meas.meta.arch));
  Comparison c;
  c.simulated = sim.meta;
  c.measured = meas.meta;
  const std::set<std::uint64_t> in_sim = rounds_of(sim), in_meas = rounds_of(meas);
  std::set<std::uint64_t> common;
  for (std::uint64_t r : in_sim) {
    if (in_meas.count(r)) common.insert(r);
    else c.only_simulated_rounds.push_back(r);
  }
  for (std::uint64_t r : in_meas)
    if (!in_sim.count(r)) c.only_measured_rounds.push_back(r);
  if (common.empty()) refuse("/traceEvents", "no round is in both traces");
  const auto predicted = durations(sim, common), measured = durations(meas, common);
  for (const auto& [key, p] : predicted) {
    const auto m = measured.find(key);
    if (m == measured.end())
      throw InputError(sim_source, "/traceEvents",
                       fmt::format("not a trace of the same plan as {}: {} ({}) is only in {}", meas_source,
                                   key_text(key), to_string(p.first->kind), sim_source));
    if (m->second.first->kind != p.first->kind)
      refuse("/traceEvents", fmt::format("{} is {} there and {} here", key_text(key),
                                         to_string(p.first->kind), to_string(m->second.first->kind)));
    c.ops.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), p.first->kind, p.first->bytes,
                     p.first->flops, p.second, m->second.second});
  }
  for (const auto& [key, m] : measured)
    if (!predicted.count(key))
      refuse("/traceEvents", fmt::format("{} ({}) is only in {}", key_text(key), to_string(m.first->kind), meas_source));

  std::map<OpKind, std::vector<double>> op_errors;
  std::map<OpKind, KindComparison> kinds;
  for (const OpComparison& o : c.ops) {
    KindComparison& k = kinds[o.kind];
    k.kind = o.kind;
    ++k.count;
    k.predicted_s += o.predicted_s;
    k.measured_s += o.measured_s;
    if (o.measured_s > 0) op_errors[o.kind].push_back(std::abs(relative_error(o.predicted_s, o.measured_s)));
  }
  for (auto& [kind, k] : kinds) {
    k.error = relative_error(k.predicted_s, k.measured_s);
    k.median_abs_op_error = quantile(op_errors[kind], 0.5);
    c.kinds.push_back(k);
  }

  const std::vector<RoundTiming> ps = timings_of(sim, common), ms = timings_of(meas, common);
  std::vector<double> errors;
  for (std::size_t i = 0; i < ps.size() && i < ms.size(); ++i) {
    if (!(ms[i].time_s > 0))
      throw InputError(meas_source, "/otherData/rounds",
                       fmt::format("round {} took 0 s: a measured round must take time", ms[i].index));
    RoundComparison r{ps[i].index, ps[i].time_s, ms[i].time_s, relative_error(ps[i].time_s, ms[i].time_s),
                      ps[i].compute_s, ms[i].compute_s, ps[i].comm_s, ms[i].comm_s};
    c.predicted_total_s += r.predicted_s;
    c.measured_total_s += r.measured_s;
    errors.push_back(std::abs(r.error));
    c.rounds.push_back(r);
  }
  c.median_round_error = quantile(errors, 0.5);
  c.p90_round_error = quantile(errors, 0.9);
  c.total_error = relative_error(c.predicted_total_s, c.measured_total_s);
  return c;
}

nlohmann::json comparison_to_json(const Comparison& c) {
  nlohmann::json kinds = nlohmann::json::array(), rounds = nlohmann::json::array(), top = nlohmann::json::array();
  for (const KindComparison& k : c.kinds)
    kinds.push_back({{"kind", to_string(k.kind)}, {"count", k.count}, {"predicted_s", k.predicted_s},
                     {"measured_s", k.measured_s}, {"error", k.error},
                     {"median_abs_op_error", k.median_abs_op_error}});
  for (const RoundComparison& r : c.rounds)
    rounds.push_back({{"round", r.round}, {"predicted_s", r.predicted_s}, {"measured_s", r.measured_s},
                      {"error", r.error}, {"predicted_compute_s", r.predicted_compute_s},
                      {"measured_compute_s", r.measured_compute_s}, {"predicted_comm_s", r.predicted_comm_s},
                      {"measured_comm_s", r.measured_comm_s}});
  for (const OpComparison& o : c.top_differences(10))
    top.push_back({{"round", o.round}, {"worker", o.worker}, {"op", o.op}, {"kind", to_string(o.kind)},
                   {"bytes", o.bytes}, {"predicted_s", o.predicted_s}, {"measured_s", o.measured_s}});
  return {{"strategy", c.measured.strategy}, {"workers", c.measured.workers}, {"arch", c.measured.arch},
          {"operations", c.ops.size()}, {"rounds_compared", c.rounds.size()},
          {"only_simulated_rounds", c.only_simulated_rounds}, {"only_measured_rounds", c.only_measured_rounds},
          {"summary", {{"median_round_error", c.median_round_error}, {"p90_round_error", c.p90_round_error},
                       {"predicted_total_s", c.predicted_total_s}, {"measured_total_s", c.measured_total_s},
                       {"total_error", c.total_error}}},
          {"kinds", kinds}, {"rounds", rounds}, {"top_differences", top}};
}

std::string comparison_text(const Comparison& c) {
  std::string out = fmt::format("{} on {} workers ({}): {} operations in {} rounds matched\n\n",
                                c.measured.strategy, c.measured.workers, c.measured.arch, c.ops.size(),
                                c.rounds.size());
  out += fmt::format("{:<10} {:>6} {:>12} {:>12} {:>9} {:>16}\n", "operation", "count", "predicted",
                     "measured", "error", "median op error");
  for (const KindComparison& k : c.kinds)
    out += fmt::format("{:<10} {:>6} {:>10.4f} s {:>10.4f} s {:>9} {:>16}\n", to_string(k.kind), k.count,
                       k.predicted_s, k.measured_s, percent(k.error), fmt::format("{:.1f}%", 100 * k.median_abs_op_error));
  out += fmt::format("\n{:>6} {:>11} {:>11} {:>8}   {:>21} {:>21}\n", "round", "predicted", "measured", "error",
                     "compute pred/meas", "comm pred/meas");
  const std::size_t shown = 20;
  for (std::size_t i = 0; i < c.rounds.size(); ++i) {
    if (i == shown) {
      out += fmt::format("{:>6} ({} more rounds; --format json lists all)\n", "...", c.rounds.size() - shown);
      break;
    }
    const RoundComparison& r = c.rounds[i];
    out += fmt::format("{:>6} {:>9.4f} s {:>9.4f} s {:>8}   {:>9.4f} / {:<9.4f} {:>9.4f} / {:<9.4f}\n", r.round,
                       r.predicted_s, r.measured_s, percent(r.error), r.predicted_compute_s,
                       r.measured_compute_s, r.predicted_comm_s, r.measured_comm_s);
  }
  out += "\nlargest differences (operation on one worker):\n";
  for (const OpComparison& o : c.top_differences(5))
    out += fmt::format("  round {} worker {} op {} {}{}: predicted {:.4f} s, measured {:.4f} s ({})\n", o.round,
                       o.worker, o.op, to_string(o.kind), o.bytes ? fmt::format(" of {} bytes", o.bytes) : "",
                       o.predicted_s, o.measured_s, percent(relative_error(o.predicted_s, o.measured_s)));
  out += fmt::format("\nper-round error: median {:.1f}%, 90th percentile {:.1f}%; total time predicted "
                     "{:.3f} s, measured {:.3f} s ({})\n", 100 * c.median_round_error, 100 * c.p90_round_error,
                     c.predicted_total_s, c.measured_total_s, percent(c.total_error));
  if (!c.only_simulated_rounds.empty() || !c.only_measured_rounds.empty())
    out += fmt::format("(compared the {} rounds both traces hold; {} rounds only simulated, {} only measured)\n",
                       c.rounds.size(), c.only_simulated_rounds.size(), c.only_measured_rounds.size());
  return out;
}

std::uint64_t rounds_to_simulate(const Trace& measured, std::uint64_t total_rounds, const std::string& source) {
  std::uint64_t rounds = 0;
  const auto take = [&](std::uint64_t round, const char* pointer) {
    if (round >= total_rounds)
      throw InputError(source, pointer,
                       fmt::format("round {} is beyond the scenario's training ({} rounds): not a trace of this "
                                   "scenario", round, total_rounds));
    rounds = std::max(rounds, round + 1);
  };
  for (const RoundSpan& r : measured.rounds) take(r.round, "/otherData/rounds");
  for (const TraceEvent& e : measured.events) take(e.round, "/traceEvents");
  return rounds;
}

}  // namespace resist
