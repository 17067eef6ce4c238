#include "sim/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "plan/cost_table.hpp"
#include "plan/generator.hpp"
#include "sim/simulator.hpp"

namespace resist {
namespace {

constexpr const char* kCommKinds[] = {"send", "allreduce", "reduce", "broadcast"};

Comparison simulate_and_compare(const Plan& plan, const Cluster& cluster, const SimSettings& settings,
                                const Trace& measured, const std::string& source) {
  const SimResult r = simulate(plan, cluster, settings);
  return compare_traces(r.trace, "the simulation", measured, source);
}

/// Least squares of measured = alpha * device + iterations * overhead over the compute ops, with
/// `device` an op's time beyond the per-iteration overhead as the settings before simulated it
/// (SimBackend::compute: each process pays the overhead in parallel): on a device that
/// workers share, that includes the slices the others took, which a fit on FLOPs alone would read
/// as a slow device. The efficiency after is the one before over alpha (the cost scale, times
/// alpha). The overhead is fitted only where work per iteration varies and the fit can tell it
/// from the rate: its standard error under half of it, or under a thousandth of an iteration's
/// measured time (else overhead 0, the rate alone). With a cost table, the rate alone, the
/// overhead kept (the table holds each iteration's fixed part).
struct ComputeFit {
  double alpha = 0, overhead = 0, kk = 0, dk = 0, km = 0;
  std::size_t n = 0;
};

ComputeFit fit_work(const Plan& plan, const CostTable* table, const Comparison& c, Calibration& out) {
  ComputeFit f;
  double dd = 0, dm = 0, mm = 0, sum_m = 0, sum_d = 0, sum_k = 0, lo = 1e300, hi = 0;
  for (const OpComparison& o : c.ops) {
    if (o.kind != OpKind::compute || o.flops <= 0) continue;
    const Op& op = plan.rounds.at(o.round).ops.at(o.op);
    const double k = static_cast<double>(op.iterations);
    // With a table, its fixed part (each process's own) stays in `device`: the scale covers both.
    const double d = o.predicted_s - k * out.before.iteration_overhead_s, m = o.measured_s;
    if (d <= 0) continue;
    ++f.n;
    dd += d * d;
    f.dk += d * k;
    f.kk += k * k;
    dm += d * m;
    f.km += k * m;
    mm += m * m;
    sum_m += m;
    sum_d += d;
    sum_k += k;
    if (k > 0) {  // a layer-parallel AuxNet op has no iteration of its own
      const double w = table ? table->op_seconds(plan, plan.rounds.at(o.round), op) : o.flops;
      lo = std::min(lo, w / k);
      hi = std::max(hi, w / k);
    }
  }
  if (f.n == 0 || sum_d <= 0) return f;
  if (table) {
    // The table holds each iteration's fixed part (data, loss, step) already: the scale alone is
    // fitted, with the per-iteration overhead as it was (a free intercept fitted over sub-networks
    // of about one size extrapolated the whole network 15% short on an emulated cluster).
    f.overhead = out.before.iteration_overhead_s;
    f.alpha = std::max(0.0, sum_m - sum_k * f.overhead) / sum_d;
    out.notes.push_back("with a cost table the fixed part of an iteration is in the table: only its scale is "
                        "fitted, the per-iteration overhead kept");
    return f;
  }
  f.alpha = sum_m / sum_d;
  const double det = dd * f.kk - f.dk * f.dk;
  if (!(hi > 0 && (hi - lo) / hi > 0.05 && det > 1e-12 * dd * f.kk)) {
    out.notes.push_back("every compute op does about the same FLOPs per iteration: the per-iteration "
                        "overhead cannot be told from the rate, so it is folded into the efficiency");
    return f;
  }
  const double a = (dm * f.kk - f.km * f.dk) / det, b = (dd * f.km - f.dk * dm) / det;
  if (!(a > 0 && b >= 0)) {
    out.notes.push_back("the two-parameter compute fit was not physical; fitted the rate alone");
    return f;
  }
  // Conditioning: the overhead's standard error from the residuals. Where workers share a device
  // their ops end together whatever their sizes, and the noise between them can pass for an
  // overhead (the shared H100 trace: 13 ms an iteration from 6% differences in work).
  const double residual = std::max(0.0, mm - 2 * a * dm - 2 * b * f.km + a * a * dd + 2 * a * b * f.dk + b * b * f.kk);
  const double se = f.n > 2 ? std::sqrt(residual / static_cast<double>(f.n - 2) * dd / det) : INFINITY;
  // Told: to half of itself, or to a thousandth of an iteration where it is about none.
  if (!(se < 0.5 * b || se < 1e-3 * sum_m / sum_k)) {
    out.notes.push_back(fmt::format("the per-iteration overhead cannot be told from the rate in this trace "
                                    "(fitted {:.4g} s, standard error {:.2g} s): folded into the efficiency",
                                    b, se));
    return f;
  }
  f.alpha = a;
  f.overhead = b;
  return f;
}

/// Compute: efficiency (or, with a cost table, cost_scale) and the per-iteration overhead.
void fit_compute(const Plan& plan, const CostTable* table, const Comparison& c, Calibration& out) {
  const ComputeFit f = fit_work(plan, table, c, out);
  if (f.n == 0 || f.alpha <= 0) {
    out.notes.push_back(fmt::format("no compute operations to fit: {} and iteration overhead kept",
                                    table ? "cost scale" : "efficiency"));
    return;
  }
  out.after.iteration_overhead_s = f.overhead;
  if (table) {
    out.after.cost_scale = out.before.cost_scale * f.alpha;
    return;
  }
  out.after.efficiency = out.before.efficiency / f.alpha;
  if (out.after.efficiency > kMaxEfficiency) {
    // At the cap the rate is fixed: the per-iteration overhead is fitted again to what is left
    // (least squares in it alone), or the capped rate would leave the surplus unexplained.
    const double capped = out.before.efficiency / kMaxEfficiency;
    const double refitted = f.kk > 0 ? std::max(0.0, (f.km - capped * f.dk) / f.kk) : 0;
    out.notes.push_back(fmt::format("the fitted efficiency {:.3f} exceeds {}: the cluster's peak FLOP/s "
                                    "is too low for this machine; capped at {}, the per-iteration overhead "
                                    "fitted again ({:.4g} s)", out.after.efficiency, kMaxEfficiency,
                                    kMaxEfficiency, refitted));
    out.after.efficiency = kMaxEfficiency;
    out.after.iteration_overhead_s = refitted;
  }
}

using CommPoints = std::map<std::string, std::vector<std::pair<double, double>>>;  // (t at scale 1, measured)

/// With the scale's inverse fixed, each kind's overhead is its mean unexplained time.
void fit_overheads(const CommPoints& by_kind, double inverse, Calibration& out) {
  out.after.bandwidth_scale = 1 / inverse;
  out.after.op_overhead_s.clear();
  for (const auto& [kind, points] : by_kind) {
    double rest = 0;
    for (const auto& [t, m] : points) rest += m - inverse * t;
    out.after.op_overhead_s[kind] = std::max(0.0, rest / static_cast<double>(points.size()));
  }
}

/// A least-squares slope of measured on simulated time, with its standard error (infinite where
/// the points cannot give one).
struct Slope {
  double value = 0, se = INFINITY;
  /// Positive and known to better than half of itself: the fit can tell it.
  bool told() const { return value > 0 && se < 0.5 * value; }
};

/// Within kinds (`per_kind`: each kind centred on its own means, as with an overhead per kind) or
/// across them (all pooled, one intercept).
Slope comm_slope(const CommPoints& by_kind, bool per_kind) {
  double mt_all = 0, mm_all = 0, n = 0;
  for (const auto& [kind, points] : by_kind)
    for (const auto& [t, m] : points) {
      mt_all += t;
      mm_all += m;
      ++n;
    }
  mt_all /= n;
  mm_all /= n;
  const auto centre = [&](const std::vector<std::pair<double, double>>& points) {
    if (!per_kind) return std::pair{mt_all, mm_all};
    double mt = 0, mm = 0;
    for (const auto& [t, m] : points) {
      mt += t;
      mm += m;
    }
    return std::pair{mt / static_cast<double>(points.size()), mm / static_cast<double>(points.size())};
  };
  double sxy = 0, sxx = 0, syy = 0;
  for (const auto& [kind, points] : by_kind) {
    const auto [mt, mm] = centre(points);
    for (const auto& [t, m] : points) {
      sxy += (t - mt) * (m - mm);
      sxx += (t - mt) * (t - mt);
      syy += (m - mm) * (m - mm);
    }
  }
  Slope out;
  if (!(sxx > 0)) return out;
  out.value = sxy / sxx;
  const double dof = n - 1 - (per_kind ? static_cast<double>(by_kind.size()) : 1.0);
  if (dof > 0) out.se = std::sqrt(std::max(0.0, syy - out.value * sxy) / dof / sxx);
  return out;
}

/// The kinds' mean simulated times differ by over a factor 2: a slope across them can show.
bool kinds_differ(const CommPoints& by_kind) {
  double lo = 1e300, hi = 0;
  for (const auto& [kind, points] : by_kind) {
    double mean = 0;
    for (const auto& [t, m] : points) mean += t / static_cast<double>(points.size());
    lo = std::min(lo, mean);
    hi = std::max(hi, mean);
  }
  return lo > 0 && hi > 2 * lo;
}

/// Communication: measured = predicted-at-scale-1 / scale + overhead(kind), least squares with
/// one scale for all kinds and one overhead per kind. The scale shows only where simulated
/// transfer times differ within a kind, or failing that between kinds (ResIST's 4.7 MB sends and
/// 62 MB all-reduces on a shared H100: 3 ms and 130 ms, which per-kind fixed costs alone explain
/// for this trace and for no other size), and only where the slope stands out of the noise (local
/// SGD's all-reduces all take one simulated time: a fit divided by almost zero wrote 1e-13).
/// Otherwise the scale is kept and each kind's overhead fitted alone, with a note saying why.
void fit_comm(const Comparison& c, Calibration& out) {
  CommPoints by_kind;
  for (const OpComparison& o : c.ops) {
    if (o.kind == OpKind::compute) continue;
    const std::string kind(to_string(o.kind));
    const double t = std::max(0.0, o.predicted_s - out.before.op_overhead(kind)) * out.before.bandwidth_scale;
    by_kind[kind].push_back({t, o.measured_s});
  }
  if (by_kind.empty()) {
    out.notes.push_back("no communication operations to fit: bandwidth scale and op overheads kept");
    return;
  }
  bool spread = false;
  for (const auto& [kind, points] : by_kind) {
    double lo = 1e300, hi = 0;
    for (const auto& [t, m] : points) {
      lo = std::min(lo, t);
      hi = std::max(hi, t);
    }
    spread = spread || (hi > 0 && (hi - lo) / hi > 0.05);
  }
  const Slope within = spread ? comm_slope(by_kind, true) : Slope{};
  if (within.told()) {
    fit_overheads(by_kind, within.value, out);
    return;
  }
  if (kinds_differ(by_kind)) {
    if (const Slope across = comm_slope(by_kind, false); across.told()) {
      out.notes.push_back(fmt::format("{}, but across kinds they do: the bandwidth scale is fitted across kinds, "
                                      "each kind's overhead from what is left",
                                      spread ? "within each kind communication times do not follow the simulated "
                                               "transfer times"
                                             : "every transfer of a kind has about the same simulated time"));
      fit_overheads(by_kind, across.value, out);
      return;
    }
  }
  if (!spread)
    out.notes.push_back("every transfer of a kind has about the same simulated time: the bandwidth scale "
                        "cannot be told from the fixed costs; scale kept, only the op overheads fitted");
  else if (within.value <= 0)
    out.notes.push_back("communication times do not grow with the simulated transfer times here "
                        "(fixed costs dominate): bandwidth scale kept, only the op overheads fitted");
  else
    out.notes.push_back(fmt::format("the bandwidth scale cannot be told from the noise in this trace (fitted {:.4g}, "
                                    "standard error {:.2g} of its inverse): scale kept, only the op overheads fitted",
                                    1 / within.value, within.se));
  fit_overheads(by_kind, 1 / out.before.bandwidth_scale, out);
}

std::string percent(double e) { return fmt::format("{:+.1f}%", 100 * e); }

/// A fitted value outside what any machine shows (a bandwidth 1,000 times off the cluster file, a
/// GPU at 0.01% of its peak, a minute of fixed cost per operation) says the fit went wrong, not
/// the machine: the value before is kept, with a note.
void keep_plausible(Calibration& c) {
  const auto check = [&](const std::string& name, double& after, double before, double lo, double hi) {
    if (std::isfinite(after) && after >= lo && after <= hi) return;
    c.notes.push_back(fmt::format("the fitted {} {:.6g} is implausible (expected {} to {}): kept {:.6g}",
                                  name, after, lo, hi, before));
    after = before;
  };
  check("sim.efficiency", c.after.efficiency, c.before.efficiency, 1e-4, kMaxEfficiency);
  check("sim.cost_scale", c.after.cost_scale, c.before.cost_scale, 1e-2, 100);
  check("sim.iteration_overhead_s", c.after.iteration_overhead_s, c.before.iteration_overhead_s, 0, 60);
  check("sim.bandwidth_scale", c.after.bandwidth_scale, c.before.bandwidth_scale, 1e-3 * c.before.bandwidth_scale,
        1e3 * c.before.bandwidth_scale);
  for (auto& [kind, seconds] : c.after.op_overhead_s)
    check("sim.op_overhead_s." + kind, seconds, c.before.op_overhead(kind), 0, 60);
}

/// The trace's warm-up rounds, left out of the fits when it holds three or more rounds: a process's
/// first iterations pay once for what later ones reuse (the allocator growing, oneDNN and cuDNN
/// choosing and compiling kernels, connections opening). On this CPU the first round's compute took
/// 1.3-2.7 times a later one's, and with one local iteration a round the second still up to 1.4
/// times (emulated cluster, 2026-12-04). So: the first round, and each next one whose compute,
/// measured against predicted (which follows the sub-network's size), is more than 10% above the
/// median of the rounds after it; a third of the rounds at most. The settings describe the rounds
/// after them; the errors are still reported over all rounds.
std::set<std::uint64_t> warm_up_rounds(const Comparison& c) {
  std::set<std::uint64_t> out;
  if (c.rounds.size() < 3) return out;
  std::vector<RoundComparison> rounds = c.rounds;
  std::sort(rounds.begin(), rounds.end(), [](const auto& a, const auto& b) { return a.round < b.round; });
  out.insert(rounds[0].round);
  const auto slowness = [](const RoundComparison& r) {
    return r.predicted_compute_s > 0 ? r.measured_compute_s / r.predicted_compute_s : 0.0;
  };
  for (std::size_t i = 1; i < rounds.size() / 3; ++i) {
    std::vector<double> later;
    for (std::size_t j = i + 1; j < rounds.size(); ++j) later.push_back(slowness(rounds[j]));
    std::nth_element(later.begin(), later.begin() + static_cast<std::ptrdiff_t>(later.size() / 2), later.end());
    const double median = later[later.size() / 2];
    if (!(median > 0 && slowness(rounds[i]) > 1.1 * median)) break;
    out.insert(rounds[i].round);
  }
  return out;
}

Comparison without_rounds(const Comparison& c, const std::set<std::uint64_t>& rounds) {
  Comparison steady = c;
  std::erase_if(steady.ops, [&rounds](const OpComparison& o) { return rounds.count(o.round) > 0; });
  return steady;
}

/// `c` without its warm-up rounds (warm_up_rounds), said in a note.
Comparison without_warm_up(const Comparison& c, const std::set<std::uint64_t>& warm_up, Calibration& out) {
  if (warm_up.empty()) return c;
  Comparison steady = without_rounds(c, warm_up);
  if (warm_up.size() == 1)
    out.notes.push_back(fmt::format("round {} (the first of the trace: warm-up) is left out of the fit",
                                    *warm_up.begin()));
  else
    out.notes.push_back(fmt::format("rounds {}-{} (the first of the trace: warm-up; the later ones' compute ran "
                                    "over 10% slower than the rounds after them) are left out of the fit",
                                    *warm_up.begin(), *warm_up.rbegin()));
  return steady;
}

/// Predicted and measured communication time of the rounds after the warm-up rounds, summed: each
/// round's time covered by its communication from when all members had started it (the busiest
/// worker's). Not the operations' own times: a send ends on its sender as soon as the socket took
/// its bytes (2 ms where the transfer took 0.5 s), in the simulation when they arrived.
std::pair<double, double> steady_communication(const Comparison& c) {
  const std::set<std::uint64_t> warm_up = warm_up_rounds(c);
  double predicted = 0, measured = 0;
  for (const RoundComparison& r : c.rounds)
    if (!warm_up.count(r.round)) {
      predicted += r.predicted_comm_s;
      measured += r.measured_comm_s;
    }
  return {predicted, measured};
}

/// Predicted against measured communication of the rounds after the warm-up (0: none).
double steady_communication_error(const Comparison& c) {
  const auto [predicted, measured] = steady_communication(c);
  return measured > 0 ? predicted / measured - 1 : 0;
}

}  // namespace

/// The shared-link efficiency, fitted by simulating: flows that cross a link in one direction at
/// once (ResIST's block moves beside its all-reduce) got 84% of an emulated 10 Mbit/s TCP link
/// together where its all-reduce alone got 92.6%, and single operations' times cannot show that
/// (each is slowed by what else ran). The rounds' communication time grows as the efficiency falls;
/// a root search finds where it meets the measured one. A trace in which no link carries two flows
/// at once for long does not change with it: then it is kept, with a note.
SharedFit fit_shared_link_efficiency(const Plan& plan, const Cluster& cluster, const Trace& measured,
                                     const std::string& source, SimSettings settings) {
  const auto with = [&](double efficiency) {
    SimSettings s = settings;
    s.shared_link_efficiency = efficiency;
    return simulate_and_compare(plan, cluster, s, measured, source);
  };
  Comparison at_one = with(1.0);
  const auto kept = [&](std::string note) {
    const double given = settings.shared_link_efficiency;
    return SharedFit{settings, given == 1 ? std::move(at_one) : with(given), std::move(note)};
  };
  const auto [lossless, target] = steady_communication(at_one);
  if (target <= 0) return kept("");  // no communication: fit_comm said so
  const double lossy = steady_communication(with(kMinSharedLinkEfficiency)).first;
  if (lossy < lossless * 1.01)
    return kept(fmt::format("no link carries two flows at once for long in this trace: the shared-link efficiency "
                            "cannot be told; sim.shared_link_efficiency kept ({:.4g})", settings.shared_link_efficiency));
  if (lossy < target)
    return kept(fmt::format("communication is {:.1f}% slower than even a shared-link efficiency of {} predicts: "
                            "the fault is not in sharing links; sim.shared_link_efficiency kept ({:.4g})",
                            100 * (target / lossy - 1), kMinSharedLinkEfficiency, settings.shared_link_efficiency));
  settings.shared_link_efficiency = 1;
  if (lossless >= target)
    return {settings, std::move(at_one),
            fmt::format("transfers that share links took no longer than sharing without loss predicts ({} "
                        "predicted): sim.shared_link_efficiency 1", percent(lossless / target - 1))};
  // In x = 1 / efficiency a shared transfer's time grows about linearly: regula falsi (Illinois) on
  // [1, 1 / kMin] finds the root in a few simulations, where bisection took ten (each one a whole
  // simulation of the trace's rounds).
  double xa = 1, fa = lossless - target, xb = 1 / kMinSharedLinkEfficiency, fb = lossy - target, x = xa;
  Comparison at_x;
  for (int i = 0, side = 0; i < 40 && xb - xa > 1e-4; ++i) {
    x = (xa * fb - xb * fa) / (fb - fa);
    at_x = with(1 / x);
    const double fx = steady_communication(at_x).first - target;
    if (std::abs(fx) <= 1e-4 * target) break;
    if (fx < 0) {
      xa = x;
      fa = fx;
      if (side == -1) fb /= 2;
      side = -1;
    } else {
      xb = x;
      fb = fx;
      if (side == 1) fa /= 2;
      side = 1;
    }
  }
  settings.shared_link_efficiency = 1 / x;
  return {settings, std::move(at_x), ""};
}

namespace {

/// Where workers share a device, the slice of it each gets depends on when the others compute,
/// which moves with the rate being fitted (a synthetic trace at twice the efficiency was fitted
/// 47% fast in one pass): the compute fit is repeated from where it landed, simulating each time,
/// until it settles (4 passes at most). Alone on their devices one pass is exact.
void refit_compute_on_shared_devices(const Plan& plan, const Cluster& cluster, const CostTable* table,
                                     const Trace& measured, const std::string& source,
                                     const std::set<std::uint64_t>& warm_up, std::size_t compute_notes,
                                     Calibration& c) {
  const std::vector<int> on = cluster.workers_on();
  if (std::none_of(on.begin(), on.end(), [](int n) { return n >= 2; })) return;
  for (int pass = 0; pass < 4; ++pass) {
    Calibration again;  // from the settings before, with the compute fitted so far
    again.before = c.before;
    again.before.efficiency = c.after.efficiency;
    again.before.iteration_overhead_s = c.after.iteration_overhead_s;
    again.before.cost_scale = c.after.cost_scale;
    again.after = again.before;
    fit_compute(plan, table, without_rounds(simulate_and_compare(plan, cluster, again.before, measured, source), warm_up),
                again);
    const bool settled = std::abs(again.after.efficiency / again.before.efficiency - 1) < 1e-3 &&
                         std::abs(again.after.cost_scale / again.before.cost_scale - 1) < 1e-3 &&
                         std::abs(again.after.iteration_overhead_s - again.before.iteration_overhead_s) <
                             1e-3 * std::max(1e-3, again.before.iteration_overhead_s);
    c.after.efficiency = again.after.efficiency;
    c.after.iteration_overhead_s = again.after.iteration_overhead_s;
    c.after.cost_scale = again.after.cost_scale;
    c.notes.resize(compute_notes);
    c.notes.insert(c.notes.end(), again.notes.begin(), again.notes.end());
    if (settled) break;
  }
}

}  // namespace

void judge_calibration(Calibration& c) {
  const double before = c.before_comparison.median_round_error, after = c.after_comparison.median_round_error;
  if (after > before)
    c.notes.push_back(fmt::format("the calibrated settings predict this trace worse than the settings before "
                                  "(median per-round error {:.1f}% against {:.1f}%): the model cannot express "
                                  "what the trace shows; keep the settings before unless you know why",
                                  100 * after, 100 * before));
}

Calibration calibrate(const Scenario& s, const Trace& measured, const std::string& source) {
  const Plan plan = make_plan(s, rounds_to_simulate(measured, s.total_rounds(), source));
  const Cluster cluster = scenario_cluster(s);
  check_fit(plan, cluster, s.source);
  std::optional<CostTable> table;
  if (!s.sim.cost_table.empty()) {
    table = load_cost_table(s.sim.cost_table);
    check_cost_table(*table, plan);
  }
  Calibration c;
  c.before = c.after = s.sim;
  c.before_comparison = simulate_and_compare(plan, cluster, c.before, measured, source);
  const std::set<std::uint64_t> warm_up = warm_up_rounds(c.before_comparison);
  const Comparison steady = without_warm_up(c.before_comparison, warm_up, c);
  const std::size_t compute_notes = c.notes.size();
  fit_compute(plan, table ? &*table : nullptr, steady, c);
  refit_compute_on_shared_devices(plan, cluster, table ? &*table : nullptr, measured, source,
                                  warm_up, compute_notes, c);
  fit_comm(steady, c);
  keep_plausible(c);
  // The network fit regresses single operations' times; where operations overlap and share links
  // (ResIST's block moves beside its all-reduce), those times do not follow their own sizes and the
  // fit can land far from the links' rates (1.55 times the nominal bandwidth, with a quarter second
  // per all-reduce, on an emulated 100 Mbit/s link; predicted the same runs at 10 Mbit/s 35% short).
  // So the fitted compute with the network settings as they were is tried too, each with its
  // shared-link efficiency fitted, and the network fit kept only when it predicts the rounds'
  // communication better.
  SimSettings compute_only = c.before;
  compute_only.efficiency = c.after.efficiency;
  compute_only.iteration_overhead_s = c.after.iteration_overhead_s;
  compute_only.cost_scale = c.after.cost_scale;
  bool network_fitted = compute_only.bandwidth_scale != c.after.bandwidth_scale;
  for (const char* kind : kCommKinds)
    network_fitted = network_fitted || compute_only.op_overhead(kind) != c.after.op_overhead(kind);
  SharedFit chosen = fit_shared_link_efficiency(plan, cluster, measured, source, compute_only);
  if (network_fitted) {
    SharedFit fitted = fit_shared_link_efficiency(plan, cluster, measured, source, c.after);
    const double fitted_error = steady_communication_error(fitted.comparison),
                 kept_error = steady_communication_error(chosen.comparison);
    if (std::abs(kept_error) <= std::abs(fitted_error))
      c.notes.push_back(fmt::format(
          "the fitted network settings (bandwidth scale {:.4g}, op overheads) predicted this trace's "
          "communication worse ({} over its rounds) than the network settings before ({}): network "
          "settings kept", c.after.bandwidth_scale, percent(fitted_error), percent(kept_error)));
    else
      chosen = std::move(fitted);
  }
  c.after = chosen.settings;
  c.after_comparison = std::move(chosen.comparison);
  if (!chosen.note.empty()) c.notes.push_back(chosen.note);
  judge_calibration(c);
  return c;
}

nlohmann::json calibrated_document(const Scenario& s, const SimSettings& settings) {
  nlohmann::json doc = s.document;
  nlohmann::json& sim = doc["sim"];
  sim["efficiency"] = settings.efficiency;
  sim["iteration_overhead_s"] = settings.iteration_overhead_s;
  if (!settings.cost_table.empty()) sim["cost_scale"] = settings.cost_scale;
  sim["bandwidth_scale"] = settings.bandwidth_scale;
  sim["shared_link_efficiency"] = settings.shared_link_efficiency;
  nlohmann::json overheads = nlohmann::json::object();
  for (const char* kind : kCommKinds) overheads[kind] = settings.op_overhead(kind);
  sim["op_overhead_s"] = overheads;
  return doc;
}

std::string calibration_text(const Calibration& c) {
  std::string out = fmt::format("{:<28} {:>14} {:>14}\n", "setting", "before", "after");
  const auto row = [&](const std::string& name, double before, double after, const char* unit) {
    out += fmt::format("{:<28} {:>12.6g}{:2} {:>12.6g}{:2}\n", name, before, unit, after, unit);
  };
  if (c.before.cost_table.empty())
    row("sim.efficiency", c.before.efficiency, c.after.efficiency, "");
  else
    row("sim.cost_scale", c.before.cost_scale, c.after.cost_scale, "");
  row("sim.iteration_overhead_s", c.before.iteration_overhead_s, c.after.iteration_overhead_s, " s");
  row("sim.bandwidth_scale", c.before.bandwidth_scale, c.after.bandwidth_scale, "");
  row("sim.shared_link_efficiency", c.before.shared_link_efficiency, c.after.shared_link_efficiency, "");
  for (const char* kind : kCommKinds)
    row(fmt::format("sim.op_overhead_s.{}", kind), c.before.op_overhead(kind), c.after.op_overhead(kind), " s");
  out += fmt::format("\n{:<28} {:>14} {:>14}\n", "error (simulated vs measured)", "before", "after");
  const auto err = [&](const std::string& name, double before, double after, bool sign) {
    out += fmt::format("{:<28} {:>14} {:>14}\n", name, sign ? percent(before) : fmt::format("{:.1f}%", 100 * before),
                       sign ? percent(after) : fmt::format("{:.1f}%", 100 * after));
  };
  err("median per-round error", c.before_comparison.median_round_error, c.after_comparison.median_round_error, false);
  err("90th percentile", c.before_comparison.p90_round_error, c.after_comparison.p90_round_error, false);
  err("total time", c.before_comparison.total_error, c.after_comparison.total_error, true);
  for (std::size_t i = 0; i < c.before_comparison.kinds.size() && i < c.after_comparison.kinds.size(); ++i)
    err(std::string(to_string(c.before_comparison.kinds[i].kind)) + " time", c.before_comparison.kinds[i].error,
        c.after_comparison.kinds[i].error, true);
  for (const std::string& n : c.notes) out += "note: " + n + "\n";
  return out;
}

nlohmann::json calibration_to_json(const Calibration& c) {
  const auto settings = [](const SimSettings& s) {
    nlohmann::json overheads = nlohmann::json::object();
    for (const char* kind : kCommKinds) overheads[kind] = s.op_overhead(kind);
    return nlohmann::json{{"efficiency", s.efficiency}, {"cost_scale", s.cost_scale},
                          {"iteration_overhead_s", s.iteration_overhead_s},
                          {"bandwidth_scale", s.bandwidth_scale},
                          {"shared_link_efficiency", s.shared_link_efficiency}, {"op_overhead_s", overheads}};
  };
  return {{"before", settings(c.before)}, {"after", settings(c.after)},
          {"before_comparison", comparison_to_json(c.before_comparison)},
          {"after_comparison", comparison_to_json(c.after_comparison)}, {"notes", c.notes}};
}

}  // namespace resist
