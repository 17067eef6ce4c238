#include "plan/plan_text.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "model/model_text.hpp"

namespace resist {
namespace {

constexpr double kGB = 1e9;

/// "a" when all equal, else "min-max".
template <typename T, typename F>
std::string spread(const std::vector<Assignment>& as, F field, const char* format) {
  if (as.empty()) return "-";
  T lo = field(as.front()), hi = lo;
  for (const Assignment& a : as) {
    lo = std::min(lo, field(a));
    hi = std::max(hi, field(a));
  }
  const std::string l = fmt::format(fmt::runtime(format), lo);
  return lo == hi ? l : l + "-" + fmt::format(fmt::runtime(format), hi);
}

std::size_t partitioned_held(const Network& net, const Assignment& a) {
  return static_cast<std::size_t>(std::count_if(a.blocks.begin(), a.blocks.end(), [&](BlockIndex b) {
    return net.blocks[b].partitionable;
  }));
}

/// One line per layer-parallel stage: its blocks, training FLOPs and its AuxNet.
std::string stages_text(const Plan& plan) {
  const Network& net = plan.network;
  std::string out = fmt::format("; AuxNets of width {} and {} extra layer{}, {} step{} an iteration", plan.aux_width,
                                plan.aux_depth, plan.aux_depth == 1 ? "" : "s", plan.aux_steps,
                                plan.aux_steps == 1 ? "" : "s");
  if (plan.method == "augmented_lagrangian")
    out += fmt::format("; augmented Lagrangian: a multiplier per element of each cut's input for each of {} samples, "
                       "on the stage before the cut", plan.multiplier_samples);
  if (plan.parallel_rounds < plan.total_rounds)
    out += fmt::format("; serial correction on worker 0 in the last {} rounds", plan.total_rounds - plan.parallel_rounds);
  for (std::size_t k = 0; k < plan.stages.size(); ++k) {
    const Stage& s = plan.stages[k];
    out += fmt::format("\n  stage {} (worker {}): {}..{}, {:.3f} GFLOP/sample", k + 1, k, net.blocks[s.first].id,
                       net.blocks[s.end - 1].id, s.block_train_flops(net) / 1e9);
    if (s.aux)
      out += fmt::format(", AuxNet {} layers, {} parameters, {:.3f} GFLOP/sample, input {}x{}x{}", s.aux->layers.size(),
                         s.aux->params, s.aux->train_flops() / 1e9, s.aux->out_channels, s.aux->out_size.h,
                         s.aux->out_size.w);
    if (s.aux && plan.method == "augmented_lagrangian")
      out += fmt::format(", multipliers on worker {}: {:.1f} MiB fp32", k - 1,
                         static_cast<double>(plan.multiplier_samples) * static_cast<double>(s.aux->output_elements()) * 4 /
                             (1024.0 * 1024.0));
  }
  return out;
}

std::string header(const Plan& plan) {
  const Network& net = plan.network;
  std::string out = fmt::format(
      "plan: {} on {} workers, {} ({} parameters), {} local iteration{} per round, batch {} per "
      "worker, {}\n",
      to_string(plan.strategy), plan.workers, net.spec.arch, net.total_params(),
      plan.iterations_per_round, plan.iterations_per_round == 1 ? "" : "s", plan.batch_size,
      to_string(plan.dtype));
  out += fmt::format("rounds: {} in the whole training, {} listed", plan.total_rounds,
                     plan.rounds.size());
  if (plan.strategy == StrategyKind::resist)
    out += fmt::format("; {} partitioned blocks, min depth {}, warm-up rounds {}, test-time "
                       "scale {:.4g}", net.partitionable_blocks().size(), plan.min_depth,
                       plan.warmup_rounds, plan.test_scale);
  if (plan.strategy == StrategyKind::layer_parallel) out += stages_text(plan);
  return out + "\n\n";
}

}  // namespace

TrainingBytes training_bytes(const Plan& plan) {
  TrainingBytes t;
  t.payload = static_cast<double>(plan.payload_bytes());
  t.wire = static_cast<double>(plan.wire_bytes());
  if (plan.rounds.size() < plan.total_rounds && !plan.rounds.empty()) {
    const double scale = static_cast<double>(plan.total_rounds) / static_cast<double>(plan.rounds.size());
    t.payload *= scale;
    t.wire *= scale;
    t.estimated = true;
  }
  return t;
}

std::string plan_table(const Plan& plan) {
  const Network& net = plan.network;
  std::string out = header(plan);
  out += fmt::format("{:>6} {:<13} {:>9} {:>11} {:>15} {:>17} {:>5} {:>11} {:>11}\n", "round",
                     "phase", "blocks", "partitioned", "params/worker", "GFLOP/worker", "ops",
                     "payload GB", "wire GB");
  for (const Round& r : plan.rounds) {
    const auto& as = r.assignments;
    const double samples = static_cast<double>(plan.iterations_per_round) * plan.batch_size;
    out += fmt::format(
        "{:>6} {:<13} {:>9} {:>11} {:>15} {:>17} {:>5} {:>11.4f} {:>11.4f}\n", r.index,
        to_string(r.phase), spread<std::size_t>(as, [](const Assignment& a) { return a.blocks.size(); }, "{}"),
        spread<std::size_t>(as, [&](const Assignment& a) { return partitioned_held(net, a); }, "{}"),
        spread<double>(as, [](const Assignment& a) { return static_cast<double>(a.params) / 1e6; }, "{:.2f}M"),
        spread<double>(as, [&](const Assignment& a) { return a.flops_per_sample * samples / 1e9; }, "{:.0f}"),
        r.ops.size(), static_cast<double>(r.payload_bytes) / kGB, static_cast<double>(r.wire_bytes) / kGB);
  }
  const TrainingBytes t = training_bytes(plan);
  out += fmt::format("\nlisted rounds: {:.3f} GB payload, {:.3f} GB on the wire\n",
                     static_cast<double>(plan.payload_bytes()) / kGB,
                     static_cast<double>(plan.wire_bytes()) / kGB);
  out += fmt::format("whole training ({} rounds){}: {:.1f} GB payload, {:.1f} GB on the wire\n",
                     plan.total_rounds, t.estimated ? ", estimated from the listed rounds" : "",
                     t.payload / kGB, t.wire / kGB);
  return out;
}

std::string strategy_comparison(const std::vector<Plan>& plans) {
  if (plans.empty()) return {};
  std::string out = fmt::format("{:<14} {:>7} {:>12} {:>12} {:>13} {:>13} {:>14} {:>12}\n",
                                "strategy", "rounds", "GB/round", "wire/round", "training GB",
                                "training wire", "params/worker", "vs first");
  const double base = std::max(1.0, training_bytes(plans.front()).payload);
  bool estimated = false;
  for (const Plan& p : plans) {
    const TrainingBytes t = training_bytes(p);
    estimated = estimated || t.estimated;
    const double n = std::max<double>(1.0, static_cast<double>(p.rounds.size()));
    std::int64_t most = 0;
    for (const Round& r : p.rounds)
      for (const Assignment& a : r.assignments) most = std::max(most, a.params);
    out += fmt::format("{:<14} {:>7} {:>12.4f} {:>12.4f} {:>13.1f} {:>13.1f} {:>13.2f}M {:>11.2f}x\n",
                       to_string(p.strategy), p.total_rounds,
                       static_cast<double>(p.payload_bytes()) / n / kGB,
                       static_cast<double>(p.wire_bytes()) / n / kGB, t.payload / kGB,
                       t.wire / kGB, static_cast<double>(most) / 1e6, t.payload / base);
  }
  if (estimated) out += "(training totals of truncated plans are estimated from their listed rounds)\n";
  return out;
}

}  // namespace resist
