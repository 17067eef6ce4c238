#include "plan/plan.hpp"

#include <algorithm>
#include <array>
#include <numeric>

namespace resist {
namespace {

template <typename E, std::size_t N>
std::optional<E> parse_enum(const std::array<E, N>& all, std::string_view name) {
  for (E e : all)
    if (to_string(e) == name) return e;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::compute: return "compute";
    case OpKind::send: return "send";
    case OpKind::allreduce: return "allreduce";
    case OpKind::reduce: return "reduce";
    case OpKind::broadcast: return "broadcast";
  }
  return "compute";
}

std::optional<OpKind> parse_op_kind(std::string_view name) {
  return parse_enum(std::array{OpKind::compute, OpKind::send, OpKind::allreduce, OpKind::reduce,
                               OpKind::broadcast}, name);
}

std::string_view to_string(Payload payload) {
  switch (payload) {
    case Payload::none: return "none";
    case Payload::state: return "state";
    case Payload::gradients: return "gradients";
    case Payload::neuron_slices: return "neuron_slices";
  }
  return "none";
}

std::optional<Payload> parse_payload(std::string_view name) {
  return parse_enum(std::array{Payload::none, Payload::state, Payload::gradients,
                               Payload::neuron_slices}, name);
}

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::data_parallel: return "data_parallel";
    case Phase::local_sgd: return "local_sgd";
    case Phase::resist: return "resist";
    case Phase::ist: return "ist";
  }
  return "resist";
}

std::optional<Phase> parse_phase(std::string_view name) {
  return parse_enum(std::array{Phase::data_parallel, Phase::local_sgd, Phase::resist, Phase::ist},
                    name);
}

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

std::uint64_t Plan::payload_bytes() const {
  return std::accumulate(rounds.begin(), rounds.end(), std::uint64_t{0},
                         [](std::uint64_t acc, const Round& r) { return acc + r.payload_bytes; });
}

std::uint64_t Plan::wire_bytes() const {
  return std::accumulate(rounds.begin(), rounds.end(), std::uint64_t{0},
                         [](std::uint64_t acc, const Round& r) { return acc + r.wire_bytes; });
}

}  // namespace resist
