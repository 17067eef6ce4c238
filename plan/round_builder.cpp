#include "plan/round_builder.hpp"

#include <numeric>

namespace resist {

// Compute ops train the worker's assignment; they do not repeat its block list.
std::vector<OpId> RoundBuilder::compute_all(std::uint32_t iterations) {
  std::vector<OpId> ids;
  for (WorkerId w = 0; w < plan_.workers; ++w) {
    const Assignment& a = round_.assignments[static_cast<std::size_t>(w)];
    Op op;
    op.id = static_cast<OpId>(round_.ops.size());
    op.kind = OpKind::compute;
    op.group = {w};
    op.root = w;
    op.iterations = iterations;
    op.samples = static_cast<std::uint64_t>(iterations) * static_cast<std::uint64_t>(plan_.batch_size);
    op.flops = a.flops_per_sample * static_cast<double>(op.samples);
    ids.push_back(op.id);
    round_.ops.push_back(std::move(op));
  }
  return ids;
}

std::optional<OpId> RoundBuilder::comm(OpKind kind, std::vector<WorkerId> group, WorkerId root,
                                       Algorithm algorithm, Payload payload, std::uint64_t bytes,
                                       std::vector<BlockIndex> blocks, std::vector<OpId> deps) {
  if (group.size() < 2) return std::nullopt;
  Op op;
  op.id = static_cast<OpId>(round_.ops.size());
  op.kind = kind;
  op.group = std::move(group);
  op.root = root;
  op.algorithm = algorithm;
  op.payload = payload;
  op.bytes = bytes;
  op.blocks = std::move(blocks);
  op.deps = std::move(deps);
  round_.ops.push_back(std::move(op));
  return round_.ops.back().id;
}

void RoundBuilder::finish(std::uint64_t payload_bytes) {
  round_.payload_bytes = plan_.workers > 1 ? payload_bytes : 0;
  round_.wire_bytes = 0;
  for (const Op& op : round_.ops) round_.wire_bytes += op.wire_bytes();
}

Assignment blocks_assignment(const Network& net, std::vector<BlockIndex> blocks) {
  Assignment a;
  for (BlockIndex b : blocks) {
    a.params += net.blocks[b].params;
    a.flops_per_sample += net.blocks[b].train_flops();
  }
  a.blocks = std::move(blocks);
  return a;
}

Assignment full_assignment(const Network& net) {
  std::vector<BlockIndex> all(net.blocks.size());
  std::iota(all.begin(), all.end(), BlockIndex{0});
  return blocks_assignment(net, std::move(all));
}

std::uint64_t state_bytes(const Network& net, const std::vector<BlockIndex>& blocks, Dtype dtype) {
  std::uint64_t total = 0;
  for (BlockIndex b : blocks) total += net.blocks[b].state_bytes(dtype);
  return total;
}

std::vector<WorkerId> all_workers(int n) {
  std::vector<WorkerId> out(static_cast<std::size_t>(n));
  std::iota(out.begin(), out.end(), WorkerId{0});
  return out;
}

}  // namespace resist
