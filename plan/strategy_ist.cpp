// IST rounds: hidden neurons split into disjoint chunks; worker 0 coordinates, gathering the
// trained slices and scattering the next round's slices.
#include <numeric>

#include "model/cost_counter.hpp"
#include "plan/partition.hpp"
#include "plan/round_builder.hpp"

namespace resist {
namespace {

struct SliceCost {
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  double forward_flops = 0;
};

/// Costs of the sub-network that keeps `kept[l]` neurons of hidden layer l.
SliceCost slice_cost(const Network& net, const std::vector<std::vector<std::uint32_t>>& kept) {
  CostCounter c;
  const auto& in = net.spec.input;
  int features = in[0] * in[1] * in[2];
  for (const auto& neurons : kept) {
    const int width = static_cast<int>(neurons.size());
    c.linear(features, width, true);
    c.batch_norm(width, {1, 1});
    c.relu(width, {1, 1});
    features = width;
  }
  c.linear(features, net.spec.classes, true);
  Block sum;
  c.fill(sum);
  return {sum.params, sum.buffers, sum.forward_flops};
}

std::uint64_t slice_bytes(const SliceCost& s, Dtype dtype) {
  return static_cast<std::uint64_t>(s.params + s.buffers) * dtype_bytes(dtype);
}

}  // namespace

void build_ist_round(const Plan& plan, Round& round) {
  round.phase = Phase::ist;
  const Network& net = plan.network;
  const std::vector<int>& widths = net.spec.hidden;
  const auto n = static_cast<std::size_t>(plan.workers);
  const bool last = round.index + 1 >= plan.total_rounds;
  const auto now = split_neurons(widths, plan.workers, plan.seed, round.index);
  const Assignment full = full_assignment(net);
  std::vector<std::uint64_t> bytes_now(n);
  for (std::size_t w = 0; w < n; ++w) {
    const SliceCost cost = slice_cost(net, now[w]);
    Assignment a;
    a.blocks = full.blocks;
    a.neurons = now[w];
    a.params = cost.params;
    a.flops_per_sample = 3.0 * cost.forward_flops;
    round.assignments.push_back(std::move(a));
    bytes_now[w] = slice_bytes(cost, plan.dtype);
  }
  RoundBuilder rb(plan, round);
  const std::vector<OpId> computes =
      rb.compute_all(static_cast<std::uint32_t>(plan.iterations_per_round));
  for (OpId c : computes) round.ops[c].fresh_optimizer = true;  // a new slice every round
  std::vector<OpId> gathered{computes[0]};
  for (std::size_t w = 1; w < n; ++w) {  // worker 0 gathers each worker's trained slice
    const OpId id = *rb.comm(OpKind::send, {0, static_cast<WorkerId>(w)}, static_cast<WorkerId>(w),
                             Algorithm::direct, Payload::neuron_slices, bytes_now[w], full.blocks, {computes[w]});
    round.ops[id].neurons = now[w];
    round.ops[id].average_common = true;
    gathered.push_back(id);
  }
  std::uint64_t payload = std::accumulate(bytes_now.begin(), bytes_now.end(), std::uint64_t{0});
  if (last) {
    payload += state_bytes(net, full.blocks, plan.dtype);  // worker 0 holds the whole model next
  } else {
    const auto next = split_neurons(widths, plan.workers, plan.seed, round.index + 1);
    for (std::size_t w = 0; w < n; ++w) {
      const std::uint64_t bytes = slice_bytes(slice_cost(net, next[w]), plan.dtype);
      payload += bytes;
      if (w == 0) continue;  // the coordinator keeps its own slice
      const OpId id = *rb.comm(OpKind::send, {0, static_cast<WorkerId>(w)}, 0, Algorithm::direct,
                               Payload::neuron_slices, bytes, full.blocks, gathered);
      round.ops[id].neurons = next[w];  // the worker's slice of the next round
    }
  }
  round.holders_after.assign(net.blocks.size(), 0);  // worker 0 gathered the whole model
  rb.finish(payload);
}

}  // namespace resist
