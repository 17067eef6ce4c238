#include "plan/plan.hpp"

#include <algorithm>
#include <numeric>

#include "model/enum_names.hpp"

namespace resist {
namespace {

constexpr EnumNames<OpKind, 5> kOpKindNames({{
    {OpKind::compute, "compute"}, {OpKind::send, "send"}, {OpKind::allreduce, "allreduce"},
    {OpKind::reduce, "reduce"}, {OpKind::broadcast, "broadcast"}}});

constexpr EnumNames<Payload, 6> kPayloadNames({{
    {Payload::none, "none"}, {Payload::state, "state"}, {Payload::gradients, "gradients"},
    {Payload::neuron_slices, "neuron_slices"}, {Payload::stage_output, "stage_output"},
    {Payload::aux_output, "aux_output"}}});

constexpr EnumNames<Phase, 6> kPhaseNames({{
    {Phase::data_parallel, "data_parallel"}, {Phase::local_sgd, "local_sgd"},
    {Phase::resist, "resist"}, {Phase::ist, "ist"}, {Phase::layer_parallel, "layer_parallel"},
    {Phase::serial, "serial"}}});

constexpr EnumNames<ComputePart, 3> kPartNames({{
    {ComputePart::train, "train"}, {ComputePart::aux_forward, "aux_forward"},
    {ComputePart::aux_update, "aux_update"}}});

}  // namespace

std::string_view to_string(OpKind kind) { return kOpKindNames.name(kind); }
std::optional<OpKind> parse_op_kind(std::string_view name) { return kOpKindNames.parse(name); }
std::string_view to_string(Payload payload) { return kPayloadNames.name(payload); }
std::optional<Payload> parse_payload(std::string_view name) { return kPayloadNames.parse(name); }
std::string_view to_string(Phase phase) { return kPhaseNames.name(phase); }
std::optional<Phase> parse_phase(std::string_view name) { return kPhaseNames.parse(name); }
std::string_view to_string(ComputePart part) { return kPartNames.name(part); }
std::optional<ComputePart> parse_compute_part(std::string_view name) { return kPartNames.parse(name); }

bool Op::has_member(WorkerId w) const {
  return std::binary_search(group.begin(), group.end(), w);
}

std::uint64_t Op::wire_bytes() const {
  const std::uint64_t n = group.size();
  if (kind == OpKind::compute || n < 2) return 0;
  // Ring and tree all-reduce both move 2(n-1) copies of the buffer in total; direct and tree
  // reduce or broadcast move n-1; a send moves one.
  if (kind == OpKind::allreduce) return 2 * (n - 1) * bytes;
  if (kind == OpKind::send) return bytes;
  return (n - 1) * bytes;
}

bool Round::model_complete_on(WorkerId w) const {
  return std::all_of(holders_after.begin(), holders_after.end(), [w](WorkerId h) { return h == w; });
}

std::vector<BlockIndex> Round::replicated_blocks(int workers) const {
  if (workers == 1) return assignments.empty() ? std::vector<BlockIndex>{} : assignments.front().blocks;
  std::vector<BlockIndex> out;
  for (const Op& op : ops)
    if (op.kind == OpKind::allreduce && op.group.size() == static_cast<std::size_t>(workers))
      out.insert(out.end(), op.blocks.begin(), op.blocks.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double slice_share(const Network& net, const Assignment& a) {
  if (a.neurons.empty()) return 1;
  double flops = 0;
  for (BlockIndex b : a.blocks) flops += net.blocks.at(b).train_flops();
  return flops > 0 ? std::min(1.0, a.flops_per_sample / flops) : 1;
}

std::uint64_t Plan::payload_bytes() const {
  return std::accumulate(rounds.begin(), rounds.end(), std::uint64_t{0},
                         [](std::uint64_t acc, const Round& r) { return acc + r.payload_bytes; });
}

std::uint64_t Plan::wire_bytes() const {
  return std::accumulate(rounds.begin(), rounds.end(), std::uint64_t{0},
                         [](std::uint64_t acc, const Round& r) { return acc + r.wire_bytes; });
}

}  // namespace resist
