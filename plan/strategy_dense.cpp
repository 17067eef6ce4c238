// Data-parallel and local SGD rounds: every worker trains the whole model.
#include "plan/round_builder.hpp"

namespace resist {
namespace {

/// All workers train the full model, then all-reduce gradients (data-parallel) or state (local SGD).
void dense_round(const Plan& plan, Round& round, std::uint32_t iterations, Payload payload) {
  const Network& net = plan.network;
  const Assignment full = full_assignment(net);
  round.assignments.assign(static_cast<std::size_t>(plan.workers), full);
  RoundBuilder rb(plan, round);
  std::vector<OpId> computes = rb.compute_all(iterations);
  std::uint64_t bytes = 0;
  for (const Block& b : net.blocks)
    bytes += payload == Payload::gradients ? b.grad_bytes(plan.dtype) : b.state_bytes(plan.dtype);
  const auto sync = rb.comm(OpKind::allreduce, all_workers(plan.workers), -1, plan.collectives.allreduce,
                            payload, bytes, full.blocks, computes);
  if (sync && payload == Payload::gradients) {  // the averaged gradients make the step
    round.ops[*sync].step_after = true;
    for (OpId c : computes) round.ops[c].step_each_iteration = false;
  }
  round.holders_after.assign(net.blocks.size(), 0);  // every worker holds the whole model
  // Convention of the ResIST paper: every worker sends each tensor once and receives it once.
  rb.finish(2 * static_cast<std::uint64_t>(plan.workers) * bytes);
}

}  // namespace

void build_data_parallel_round(const Plan& plan, Round& round) {
  round.phase = Phase::data_parallel;
  dense_round(plan, round, 1, Payload::gradients);
}

void build_local_sgd_round(const Plan& plan, Round& round) {
  round.phase = Phase::local_sgd;
  dense_round(plan, round, static_cast<std::uint32_t>(plan.iterations_per_round), Payload::state);
}

}  // namespace resist
