// ResIST rounds: sub-ResNets dealt from the third stage's non-strided blocks, shared parts averaged
// over all workers, partitioned blocks averaged over their holders and sent peer to peer to their
// next holders.
#include <algorithm>

#include "plan/partition.hpp"
#include "plan/round_builder.hpp"

namespace resist {
namespace {

/// After the last round the global model is assembled on worker 0.
BlockDeal gather_to_first(std::size_t partitioned, int workers) {
  BlockDeal deal;
  deal.blocks_of.resize(static_cast<std::size_t>(workers));
  deal.holders_of.assign(partitioned, std::vector<WorkerId>{0});
  for (std::uint32_t b = 0; b < partitioned; ++b) deal.blocks_of[0].push_back(b);
  return deal;
}

std::vector<BlockIndex> shared_blocks(const Network& net) {
  std::vector<BlockIndex> out;
  for (std::size_t i = 0; i < net.blocks.size(); ++i)
    if (!net.blocks[i].partitionable) out.push_back(static_cast<BlockIndex>(i));
  return out;
}

/// The root that averages a block: a holder that keeps it next round if there is one.
WorkerId pick_root(const std::vector<WorkerId>& holders, const std::vector<WorkerId>& next) {
  for (WorkerId h : holders)
    if (std::binary_search(next.begin(), next.end(), h)) return h;
  return holders.front();
}

/// Averages one block over its holders and delivers it to its next holders.
void move_block(RoundBuilder& rb, const Plan& plan, BlockIndex block,
                const std::vector<WorkerId>& holders, const std::vector<WorkerId>& next,
                const std::vector<OpId>& computes) {
  const std::uint64_t bytes = plan.network.blocks[block].state_bytes(plan.dtype);
  const WorkerId root = pick_root(holders, next);
  std::vector<OpId> ready;
  for (WorkerId h : holders) ready.push_back(computes[static_cast<std::size_t>(h)]);
  if (auto reduce = rb.comm(OpKind::reduce, holders, root, plan.collectives.reduce, Payload::state,
                            bytes, {block}, ready))
    ready = {*reduce};
  else
    ready = {computes[static_cast<std::size_t>(root)]};
  std::vector<WorkerId> group{root};
  for (WorkerId w : next)
    if (w != root) group.push_back(w);
  std::sort(group.begin(), group.end());
  if (group.size() == 2)
    rb.comm(OpKind::send, group, root, Algorithm::direct, Payload::state, bytes, {block}, ready);
  else
    rb.comm(OpKind::broadcast, group, root, plan.collectives.broadcast, Payload::state, bytes,
            {block}, ready);
}

}  // namespace

void build_resist_round(const Plan& plan, Round& round) {
  if (round.index < static_cast<std::uint64_t>(plan.warmup_rounds)) {
    build_local_sgd_round(plan, round);
    return;
  }
  round.phase = Phase::resist;
  const Network& net = plan.network;
  const std::vector<std::size_t> part = net.partitionable_blocks();
  const std::vector<BlockIndex> shared = shared_blocks(net);
  const BlockDeal now = deal_blocks(static_cast<std::uint32_t>(part.size()), plan.workers,
                                    plan.min_depth, plan.seed, round.index);
  const BlockDeal next = round.index + 1 >= plan.total_rounds
                             ? gather_to_first(part.size(), plan.workers)
                             : deal_blocks(static_cast<std::uint32_t>(part.size()), plan.workers,
                                           plan.min_depth, plan.seed, round.index + 1);
  // The shared part is the same for every worker: sum its costs once, then add each worker's
  // partitioned blocks (both lists ascend, so a merge keeps forward order).
  const Assignment common = blocks_assignment(net, shared);
  for (const auto& mine : now.blocks_of) {
    Assignment a;
    a.blocks.reserve(shared.size() + mine.size());
    a.params = common.params;
    a.flops_per_sample = common.flops_per_sample;
    auto next_shared = shared.begin();
    for (std::uint32_t i : mine) {
      const auto own = static_cast<BlockIndex>(part[i]);
      while (next_shared != shared.end() && *next_shared < own) a.blocks.push_back(*next_shared++);
      a.blocks.push_back(own);
      a.params += net.blocks[own].params;
      a.flops_per_sample += net.blocks[own].train_flops();
    }
    a.blocks.insert(a.blocks.end(), next_shared, shared.end());
    round.assignments.push_back(std::move(a));
  }
  round.ops.reserve(static_cast<std::size_t>(plan.workers) + 1 + 2 * part.size());
  RoundBuilder rb(plan, round);
  const std::vector<OpId> computes =
      rb.compute_all(static_cast<std::uint32_t>(plan.iterations_per_round));
  const std::uint64_t shared_bytes = state_bytes(net, shared, plan.dtype);
  rb.comm(OpKind::allreduce, all_workers(plan.workers), -1, plan.collectives.allreduce,
          Payload::state, shared_bytes, shared, computes);
  std::uint64_t payload = 2 * static_cast<std::uint64_t>(plan.workers) * shared_bytes;
  for (std::size_t i = 0; i < part.size(); ++i) {
    const auto block = static_cast<BlockIndex>(part[i]);
    payload += (now.holders_of[i].size() + next.holders_of[i].size()) *
               net.blocks[block].state_bytes(plan.dtype);
    move_block(rb, plan, block, now.holders_of[i], next.holders_of[i], computes);
  }
  // A partitioned block's current state lies with its first next holder (worker 0 after the
  // last round, which gathers them all); the shared blocks are on every worker.
  round.holders_after.assign(net.blocks.size(), 0);
  for (std::size_t i = 0; i < part.size(); ++i) round.holders_after[part[i]] = next.holders_of[i].front();
  round.eval_scale = plan.test_scale;
  rb.finish(payload);
}

}  // namespace resist
