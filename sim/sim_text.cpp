#include "sim/sim_text.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "plan/generator.hpp"

namespace resist {
namespace {

constexpr double kGB = 1e9;

const Prediction* local_sgd_of(const std::vector<Prediction>& ps) {
  for (const Prediction& p : ps)
    if (p.plan.strategy == StrategyKind::local_sgd) return &p;
  return nullptr;
}

/// "baseline", "1.98x faster" or "1.01x slower" against local SGD.
std::string versus(const Prediction* base, const Prediction& p) {
  if (!base) return "-";
  if (base == &p) return "baseline";
  const double speedup = base->result.total_time_s / p.result.total_time_s;
  return speedup >= 1 ? fmt::format("{:.2f}x faster", speedup)
                      : fmt::format("{:.2f}x slower", 1 / speedup);
}

double mean_round_s(const SimResult& r) {
  return r.rounds.empty() ? 0 : r.simulated_s / static_cast<double>(r.rounds.size());
}

}  // namespace

std::string human_seconds(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.2f} ms", s * 1e3);
  if (s < 120) return fmt::format("{:.2f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.2f} h", s / 3600);
}

std::string prediction_table(const Prediction& p, const std::string& cluster_name) {
  const SimResult& r = p.result;
  std::string out = fmt::format(
      "simulated: {} on {} workers of cluster \"{}\" ({} collectives), {} of {} rounds\ncompute: {}\n\n",
      r.strategy, r.workers, cluster_name, r.collective_model, r.rounds.size(), r.total_rounds, r.compute_model);
  out += fmt::format("{:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>10}\n", "round", "time",
                     "compute", "comm", "exposed", "payload GB", "wire GB");
  for (const RoundTiming& t : r.rounds) {
    const Round& round = p.plan.rounds[t.index];
    out += fmt::format("{:>6} {:>11} {:>11} {:>11} {:>11} {:>11.4f} {:>10.4f}\n", t.index,
                       human_seconds(t.time_s), human_seconds(t.compute_s),
                       human_seconds(t.comm_s), human_seconds(t.exposed_comm_s),
                       static_cast<double>(round.payload_bytes) / kGB,
                       static_cast<double>(round.wire_bytes) / kGB);
  }
  out += "\nbusiest links (simulated rounds):\n";
  for (std::size_t i = 0; i < r.links.size() && i < 5; ++i) {
    const LinkLoad& l = r.links[i];
    out += fmt::format("  {:<28} {:<10} {:>10.3f} GB  {:>9} busy at full rate\n", l.name, l.kind,
                       l.bytes / kGB, l.bandwidth > 0 ? human_seconds(l.bytes / l.bandwidth) : "-");
  }
  out += fmt::format("\nwhole training: {} ({} rounds{}), {} per round on average\n",
                     human_seconds(r.total_time_s), r.total_rounds,
                     r.extrapolated ? ", extrapolated from the simulated rounds" : "",
                     human_seconds(mean_round_s(r)));
  out += fmt::format("simulation: {} transfers in {}\n", r.transfers, human_seconds(r.wall_s));
  return out;
}

std::string prediction_comparison(const std::vector<Prediction>& ps) {
  const Prediction* base = local_sgd_of(ps);
  std::string out = fmt::format("{:<14} {:>7} {:>12} {:>12} {:>12} {:>12} {:>16}\n", "strategy",
                                "rounds", "per round", "compute", "exposed comm", "training",
                                "vs local_sgd");
  for (const Prediction& p : ps) {
    const SimResult& r = p.result;
    double compute = 0, exposed = 0;
    for (const RoundTiming& t : r.rounds) {
      compute += t.compute_s;
      exposed += t.exposed_comm_s;
    }
    const double n = std::max<double>(1, static_cast<double>(r.rounds.size()));
    out += fmt::format("{:<14} {:>7} {:>12} {:>12} {:>12} {:>12} {:>16}\n", r.strategy,
                       r.total_rounds, human_seconds(mean_round_s(r)), human_seconds(compute / n),
                       human_seconds(exposed / n), human_seconds(r.total_time_s),
                       versus(base, p));
  }
  return out;
}

nlohmann::json predictions_json(const std::vector<Prediction>& ps, const std::string& cluster_name) {
  const Prediction* base = local_sgd_of(ps);
  nlohmann::json strategies = nlohmann::json::array();
  for (const Prediction& p : ps) {
    const SimResult& r = p.result;
    nlohmann::json rounds = nlohmann::json::array();
    for (const RoundTiming& t : r.rounds) {
      const Round& round = p.plan.rounds[t.index];
      rounds.push_back({{"index", t.index}, {"start_s", t.start}, {"time_s", t.time_s},
                        {"compute_s", t.compute_s}, {"comm_s", t.comm_s},
                        {"exposed_comm_s", t.exposed_comm_s},
                        {"payload_bytes", round.payload_bytes}, {"wire_bytes", round.wire_bytes}});
    }
    nlohmann::json links = nlohmann::json::array();
    for (const LinkLoad& l : r.links)
      links.push_back({{"name", l.name}, {"kind", l.kind}, {"bytes", l.bytes},
                       {"bandwidth", l.bandwidth}});
    nlohmann::json s = {{"name", r.strategy}, {"workers", r.workers},
                        {"collectives", r.collective_model}, {"compute", r.compute_model},
                        {"total_rounds", r.total_rounds},
                        {"simulated_rounds", r.rounds.size()}, {"extrapolated", r.extrapolated},
                        {"total_time_s", r.total_time_s}, {"rounds", std::move(rounds)},
                        {"links", std::move(links)}, {"transfers", r.transfers},
                        {"simulation_wall_s", r.wall_s}};
    if (base) s["speedup_vs_local_sgd"] = base->result.total_time_s / r.total_time_s;
    strategies.push_back(std::move(s));
  }
  return {{"cluster", cluster_name}, {"strategies", std::move(strategies)}};
}

std::vector<Prediction> predict_strategies(const Scenario& scenario, const Cluster& cluster,
                                           const std::vector<StrategyKind>& others, std::uint64_t rounds) {
  std::vector<StrategyKind> kinds{scenario.strategy.kind};
  for (StrategyKind k : others)
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  std::vector<Plan> plans;
  for (StrategyKind k : kinds) {
    const Scenario variant = k == scenario.strategy.kind ? scenario : with_strategy(scenario, k);
    plans.push_back(make_plan(variant, std::min(rounds, variant.total_rounds())));
    check_fit(plans.back(), cluster, scenario.source);
  }
  std::vector<Prediction> predictions;
  for (Plan& plan : plans) {
    SimResult result = simulate(plan, cluster, scenario.sim);
    predictions.push_back({std::move(plan), std::move(result)});
  }
  return predictions;
}

}  // namespace resist
