#include "plan/generator.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "plan/cost_table.hpp"
#include "plan/partition.hpp"
#include "plan/round_builder.hpp"

namespace resist {
namespace {

/// Residual-branch scale of partitioned blocks at test time: the share of sub-ResNets that hold a
/// block on average (1/S when blocks are dealt disjointly, larger with a minimum depth).
double resist_test_scale(const Plan& plan) {
  const auto partitioned = static_cast<std::uint32_t>(plan.network.partitionable_blocks().size());
  if (partitioned == 0) return 1.0;
  const BlockDeal deal = deal_blocks(partitioned, plan.workers, plan.min_depth, plan.seed, 0);
  std::size_t held = 0;
  for (const auto& mine : deal.blocks_of) held += mine.size();
  return static_cast<double>(held) / (static_cast<double>(partitioned) * plan.workers);
}

/// Layer-parallel cuts: given, or balanced by FLOPs or by the seconds of the scenario's cost table
/// (a block: its forward, backward and step; an AuxNet: its FLOPs at the rate of the table's blocks).
std::vector<std::size_t> stage_cuts(const Scenario& s, const Plan& plan) {
  const LayerParallelSettings& lp = s.strategy.layer_parallel;
  if (lp.balance != "cost_table" || !lp.cuts.empty()) return layer_parallel_cuts(s, plan.network);
  const CostTable table = load_cost_table(s.sim.cost_table);
  check_cost_table(table, plan);
  std::vector<double> blocks;
  double seconds = 0, flops = 0;
  for (std::size_t b = 0; b < table.blocks.size(); ++b) {
    const double train = table.blocks[b].forward_s + table.blocks[b].backward_s;
    blocks.push_back(train + table.step_s_per_param * static_cast<double>(plan.network.blocks[b].params));
    seconds += train;
    flops += plan.network.blocks[b].train_flops();
  }
  std::vector<double> aux = auxnet_train_flops(plan.network, lp.aux_width, lp.aux_depth);
  for (double& a : aux) a *= lp.aux_steps * (flops > 0 ? seconds / flops : 0);
  return layer_parallel_cuts(s, plan.network, blocks, aux);
}

Plan plan_header(const Scenario& s) {
  Plan plan;
  plan.strategy = s.strategy.kind;
  plan.workers = s.strategy.workers;
  plan.seed = s.strategy.seed;
  plan.iterations_per_round = s.iterations_per_round();
  plan.batch_size = s.training.batch_size;
  plan.dtype = s.training.dtype;
  plan.collectives = s.collectives;
  plan.network = scenario_network(s);
  plan.total_rounds = s.total_rounds();
  plan.scenario = s.document;
  if (s.strategy.kind == StrategyKind::resist) {
    plan.min_depth = s.strategy.min_depth;
    plan.warmup_rounds = s.strategy.warmup_rounds;
    plan.test_scale = resist_test_scale(plan);
  }
  if (s.strategy.kind == StrategyKind::layer_parallel) {
    plan.aux_width = s.strategy.layer_parallel.aux_width;
    plan.aux_depth = s.strategy.layer_parallel.aux_depth;
    plan.aux_steps = s.strategy.layer_parallel.aux_steps;
    plan.method = s.strategy.layer_parallel.method;
    if (plan.method == "augmented_lagrangian") plan.multiplier_samples = s.train_samples;
    plan.parallel_rounds = plan.total_rounds - s.serial_rounds();
    plan.stages = make_stages(plan.network, stage_cuts(s, plan), plan.aux_width, plan.aux_depth);
  }
  return plan;
}

}  // namespace

Round make_round(const Plan& plan, std::uint64_t index) {
  Round round;
  round.index = index;
  round.assignments.reserve(static_cast<std::size_t>(plan.workers));
  switch (plan.strategy) {
    case StrategyKind::data_parallel: build_data_parallel_round(plan, round); break;
    case StrategyKind::local_sgd: build_local_sgd_round(plan, round); break;
    case StrategyKind::resist: build_resist_round(plan, round); break;
    case StrategyKind::ist: build_ist_round(plan, round); break;
    case StrategyKind::layer_parallel: build_layer_parallel_round(plan, round); break;
  }
  return round;
}

Round round_at(const Plan& plan, std::uint64_t index) {
  return index < plan.rounds.size() ? plan.rounds[index] : make_round(plan, index);
}

std::uint64_t round_bytes(const Round& round) {
  std::uint64_t bytes = sizeof(Round) + round.holders_after.size() * sizeof(WorkerId);
  for (const Assignment& a : round.assignments) {
    bytes += sizeof(Assignment) + a.blocks.size() * sizeof(BlockIndex);
    for (const auto& layer : a.neurons) bytes += sizeof(layer) + layer.size() * sizeof(std::uint32_t);
  }
  for (const Op& op : round.ops) {
    bytes += sizeof(Op) + op.group.size() * sizeof(WorkerId) + op.blocks.size() * sizeof(BlockIndex) +
             op.deps.size() * sizeof(OpId);
    for (const auto& layer : op.neurons) bytes += sizeof(layer) + layer.size() * sizeof(std::uint32_t);
  }
  return bytes;
}

Plan make_plan(const Scenario& scenario, std::optional<std::uint64_t> max_rounds) {
  Plan plan = plan_header(scenario);
  const std::uint64_t count = std::min(plan.total_rounds, max_rounds.value_or(plan.total_rounds));
  if (count == 0) return plan;
  Round first = make_round(plan, 0);
  const double estimate = static_cast<double>(round_bytes(first)) * static_cast<double>(count);
  if (estimate > static_cast<double>(kMaxPlanBytes))
    throw InputError(scenario.source, "",
                     fmt::format("a plan of {} rounds of {} workers would take about {:.1f} GiB of memory, above "
                                 "the limit of {} GiB: ask for fewer rounds (--rounds N)", count, plan.workers,
                                 estimate / (1ull << 30), kMaxPlanBytes >> 30));
  plan.rounds.reserve(count);
  plan.rounds.push_back(std::move(first));
  for (std::uint64_t r = 1; r < count; ++r) plan.rounds.push_back(make_round(plan, r));
  return plan;
}

}  // namespace resist
