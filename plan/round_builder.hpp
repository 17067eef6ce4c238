// Helpers the strategies share to add operations to a round.
#pragma once

#include <vector>

#include "plan/plan.hpp"

namespace resist {

/// Appends operations to a round with dense ids, and totals the wire bytes at the end.
class RoundBuilder {
 public:
  RoundBuilder(const Plan& plan, Round& round) : plan_(plan), round_(round) {}

  /// One compute op per worker, training its assignment for `iterations` local iterations.
  /// Returns their ids, indexed by worker.
  std::vector<OpId> compute_all(std::uint32_t iterations);

  /// A communication op; groups of fewer than two members are skipped (returns nullopt).
  std::optional<OpId> comm(OpKind kind, std::vector<WorkerId> group, WorkerId root,
                           Algorithm algorithm, Payload payload, std::uint64_t bytes,
                           std::vector<BlockIndex> blocks, std::vector<OpId> deps);

  /// Sets wire_bytes from the ops and payload_bytes as given (0 with a single worker).
  void finish(std::uint64_t payload_bytes);

 private:
  const Plan& plan_;
  Round& round_;
};

/// Every block of the network, trained in full.
Assignment full_assignment(const Network& net);

/// An assignment of the given blocks (forward order).
Assignment blocks_assignment(const Network& net, std::vector<BlockIndex> blocks);

/// Sum of the state bytes of some blocks.
std::uint64_t state_bytes(const Network& net, const std::vector<BlockIndex>& blocks, Dtype dtype);

/// 0, 1, ..., n-1 as worker ids.
std::vector<WorkerId> all_workers(int n);

/// Round builders, one per strategy (internal to the generator).
void build_data_parallel_round(const Plan& plan, Round& round);
void build_local_sgd_round(const Plan& plan, Round& round);
void build_resist_round(const Plan& plan, Round& round);
void build_ist_round(const Plan& plan, Round& round);
void build_layer_parallel_round(const Plan& plan, Round& round);

}  // namespace resist
