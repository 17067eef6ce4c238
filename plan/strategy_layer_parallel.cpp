// Layer-parallel rounds (AuxNets, arXiv 2112.05387): one round is one training iteration in which
// every stage trains at once on the same batch. Stage k >= 1 takes its input from its AuxNet, so it
// waits for no stage before it; what crosses each cut is one batch's tensor each way: the AuxNet's
// output back to the stage before (the target of its penalty loss) and that stage's output forward
// (the anchor of the AuxNet's update).
#include "plan/round_builder.hpp"

namespace resist {
namespace {

/// Bytes of one batch of the tensor entering stage `k` (its AuxNet's output).
std::uint64_t cut_bytes(const Plan& plan, std::size_t k) {
  return static_cast<std::uint64_t>(plan.stages[k].aux->output_elements()) *
         static_cast<std::uint64_t>(plan.batch_size) * dtype_bytes(plan.dtype);
}

/// One compute op of worker `w` doing `part` on one batch; returns its id.
OpId aux_or_train(Round& round, const Plan& plan, WorkerId w, ComputePart part, double flops_per_sample,
                  std::vector<OpId> deps) {
  Op op;
  op.id = static_cast<OpId>(round.ops.size());
  op.kind = OpKind::compute;
  op.part = part;
  op.group = {w};
  op.root = w;
  op.iterations = part == ComputePart::train ? 1 : 0;  // the per-iteration overhead is the training's
  op.samples = static_cast<std::uint64_t>(plan.batch_size);
  op.flops = flops_per_sample * static_cast<double>(op.samples);
  op.deps = std::move(deps);
  round.ops.push_back(std::move(op));
  return round.ops.back().id;
}

void assign_stages(const Plan& plan, Round& round) {
  const Network& net = plan.network;
  round.holders_after.assign(net.blocks.size(), 0);
  for (std::size_t k = 0; k < plan.stages.size(); ++k) {
    const Stage& s = plan.stages[k];
    std::vector<BlockIndex> blocks;
    for (std::size_t b = s.first; b < s.end; ++b) {
      blocks.push_back(static_cast<BlockIndex>(b));
      round.holders_after[b] = static_cast<WorkerId>(k);
    }
    Assignment a = blocks_assignment(net, std::move(blocks));
    if (s.aux) {
      a.params += s.aux->params;
      a.flops_per_sample += s.aux->train_flops();
    }
    round.assignments.push_back(std::move(a));
  }
}

/// After the last iteration every stage sends its blocks to worker 0, which then holds the
/// composed network (what is evaluated and checkpointed; the AuxNets are not needed any more).
std::uint64_t gather_to_first(const Plan& plan, Round& round, RoundBuilder& rb, const std::vector<OpId>& train) {
  std::uint64_t moved = 0;
  for (std::size_t k = 1; k < plan.stages.size(); ++k) {
    std::vector<BlockIndex> blocks;
    for (std::size_t b = plan.stages[k].first; b < plan.stages[k].end; ++b) blocks.push_back(static_cast<BlockIndex>(b));
    const std::uint64_t bytes = state_bytes(plan.network, blocks, plan.dtype);
    rb.comm(OpKind::send, {0, static_cast<WorkerId>(k)}, static_cast<WorkerId>(k), Algorithm::direct, Payload::state,
            bytes, std::move(blocks), {train[k]});
    moved += bytes;
  }
  round.holders_after.assign(plan.network.blocks.size(), 0);
  return moved;
}

/// Serial correction: worker 0 trains the composed network alone, the others wait.
void build_serial_round(const Plan& plan, Round& round) {
  round.phase = Phase::serial;
  round.assignments.assign(static_cast<std::size_t>(plan.workers), Assignment{});
  round.assignments[0] = full_assignment(plan.network);
  round.holders_after.assign(plan.network.blocks.size(), 0);
  aux_or_train(round, plan, 0, ComputePart::train, round.assignments[0].flops_per_sample, {});
  RoundBuilder(plan, round).finish(0);
}

}  // namespace

void build_layer_parallel_round(const Plan& plan, Round& round) {
  if (round.index >= plan.parallel_rounds) {
    build_serial_round(plan, round);
    return;
  }
  round.phase = Phase::layer_parallel;
  assign_stages(plan, round);
  const auto stages = plan.stages.size();
  RoundBuilder rb(plan, round);
  std::vector<OpId> aux(stages), target(stages), train(stages), anchor(stages);
  for (std::size_t k = 1; k < stages; ++k)
    aux[k] = aux_or_train(round, plan, static_cast<WorkerId>(k), ComputePart::aux_forward,
                          plan.stages[k].aux->forward_flops, {});
  std::uint64_t moved = 0;
  for (std::size_t k = 1; k < stages; ++k) {  // stage k's input, stage k-1's target
    const auto w = static_cast<WorkerId>(k);
    target[k] = *rb.comm(OpKind::send, {w - 1, w}, w, Algorithm::direct, Payload::aux_output, cut_bytes(plan, k), {},
                         {aux[k]});
    moved += cut_bytes(plan, k);
  }
  for (std::size_t k = 0; k < stages; ++k) {
    std::vector<OpId> deps;
    if (k + 1 < stages) deps.push_back(target[k + 1]);
    train[k] = aux_or_train(round, plan, static_cast<WorkerId>(k), ComputePart::train,
                            plan.stages[k].block_train_flops(plan.network), std::move(deps));
  }
  for (std::size_t k = 1; k < stages; ++k) {  // stage k-1's output, the anchor of stage k's AuxNet update
    const auto w = static_cast<WorkerId>(k);
    anchor[k] = *rb.comm(OpKind::send, {w - 1, w}, w - 1, Algorithm::direct, Payload::stage_output,
                         cut_bytes(plan, k), {}, {train[k - 1]});
    moved += cut_bytes(plan, k);
  }
  for (std::size_t k = 1; k < stages; ++k)
    aux_or_train(round, plan, static_cast<WorkerId>(k), ComputePart::aux_update,
                 (3.0 * plan.aux_steps - 1) * plan.stages[k].aux->forward_flops, {anchor[k], train[k]});
  if (round.index + 1 == plan.parallel_rounds) moved += gather_to_first(plan, round, rb, train);
  rb.finish(2 * moved);  // each tensor counted where it is sent and where it is received
}

}  // namespace resist
