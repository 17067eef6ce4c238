// A plan: plain, versioned data saying who trains what and which tensors move when.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/network.hpp"
#include "model/stages.hpp"
#include "input/scenario.hpp"

namespace resist {

using WorkerId = std::int32_t;
using OpId = std::uint32_t;
using BlockIndex = std::uint32_t;

/// What an operation does. Communication kinds name the collective; `send` moves one tensor set
/// from its root to the other member of a two-member group.
enum class OpKind { compute, send, allreduce, reduce, broadcast };

/// Which tensors a communication carries. Layer-parallel stages exchange one batch's tensors at a
/// cut: a stage's output (to the next stage) and an AuxNet's output (to the stage before).
enum class Payload { none, state, gradients, neuron_slices, stage_output, aux_output };

/// What a compute op does: train the worker's assignment, or (layer-parallel) run its AuxNet
/// forward on the batch, or update the AuxNet towards the auxiliary variable's new value.
enum class ComputePart { train, aux_forward, aux_update };

std::string_view to_string(OpKind kind);
std::optional<OpKind> parse_op_kind(std::string_view name);
std::string_view to_string(Payload payload);
std::optional<Payload> parse_payload(std::string_view name);
std::string_view to_string(ComputePart part);
std::optional<ComputePart> parse_compute_part(std::string_view name);

/// One operation of a round. Workers run the operations they are members of, in id order, and
/// start an operation once the members' own dependencies in `deps` have completed on them.
struct Op {
  OpId id = 0;                       ///< index of the op in its round
  OpKind kind = OpKind::compute;
  ComputePart part = ComputePart::train;  ///< compute: what it does
  std::vector<WorkerId> group;       ///< members, ascending; compute has exactly one
  WorkerId root = -1;                ///< source of send/broadcast, destination of reduce
  Algorithm algorithm = Algorithm::none;
  Payload payload = Payload::none;
  std::uint64_t bytes = 0;           ///< size of the tensor set one member holds
  std::vector<BlockIndex> blocks;    ///< blocks whose tensors it moves (compute: empty, it
                                     ///< trains the worker's assignment)
  std::uint32_t iterations = 0;      ///< compute: local iterations
  std::uint64_t samples = 0;         ///< compute: samples processed
  double flops = 0;                  ///< compute: forward + backward FLOPs of the whole op
  std::vector<OpId> deps;            ///< ops that must complete first (lower ids)

  // What a backend does around the op, so that it needs to know no strategy:
  /// compute: the optimizer steps after each local iteration; false when a gradient all-reduce
  /// that follows steps it (data-parallel training).
  bool step_each_iteration = true;
  /// compute: the optimizer's state starts empty (IST: a worker's slice changes every round).
  bool fresh_optimizer = false;
  /// gradient all-reduce: the optimizer steps once the gradients are averaged.
  bool step_after = false;
  /// neuron_slices transfers: the slice moved, as the kept neurons of each hidden layer.
  std::vector<std::vector<std::uint32_t>> neurons;
  /// neuron_slices transfers: the receiver is the coordinator gathering this round's slices, and
  /// the tensors every slice holds (the output bias) become the mean of its own and the gathered ones.
  bool average_common = false;

  bool is_comm() const { return kind != OpKind::compute; }
  bool has_member(WorkerId w) const;
  /// Bytes this op puts on links under its algorithm (0 for compute).
  std::uint64_t wire_bytes() const;
};

/// What one worker holds and trains in a round.
struct Assignment {
  std::vector<BlockIndex> blocks;                    ///< forward order
  std::vector<std::vector<std::uint32_t>> neurons;   ///< IST: kept neurons per hidden layer
  std::int64_t params = 0;                           ///< parameters held (slices for IST)
  double flops_per_sample = 0;                       ///< forward + backward
};

/// How a round trains: a strategy's own rounds, or local SGD warm-up rounds inside ResIST.
enum class Phase { data_parallel, local_sgd, resist, ist, layer_parallel, serial };

std::string_view to_string(Phase phase);
std::optional<Phase> parse_phase(std::string_view name);

/// One synchronisation round.
struct Round {
  std::uint64_t index = 0;
  Phase phase = Phase::resist;
  std::vector<Assignment> assignments;  ///< one per worker
  std::vector<Op> ops;
  std::uint64_t payload_bytes = 0;  ///< ResIST paper's convention (see README)
  std::uint64_t wire_bytes = 0;     ///< sum of ops' wire bytes
  /// For each block, a worker that holds its current state once the round's ops are done (where
  /// a checkpoint takes it from); 0 where every worker does.
  std::vector<WorkerId> holders_after;
  /// Scale of the partitionable blocks' residual branches when the global model is evaluated
  /// after this round (ResIST's test-time scale after a ResIST round, else 1).
  double eval_scale = 1.0;

  /// Whether worker `w` alone holds the whole current model after the round.
  bool model_complete_on(WorkerId w) const;
  /// Blocks whose parameters every worker holds identical after the round: those averaged over
  /// all workers (every block when there is one worker).
  std::vector<BlockIndex> replicated_blocks(int workers) const;
};

/// The whole plan. `rounds` holds the first rounds of the training (all unless truncated);
/// a truncated plan's rounds are identical to the full plan's first rounds.
struct Plan {
  static constexpr int kVersion = 2;  ///< 2: ops and rounds say what backends do (step, slices, holders)

  StrategyKind strategy = StrategyKind::resist;
  int workers = 1;
  std::uint64_t seed = 0;
  int iterations_per_round = 1;
  int batch_size = 1;
  Dtype dtype = Dtype::fp32;
  int min_depth = 0;
  int warmup_rounds = 0;
  CollectiveSettings collectives;
  Network network;
  std::uint64_t total_rounds = 0;
  double test_scale = 1.0;  ///< residual-branch scale of partitioned blocks at test time
  /// Layer-parallel: one stage per worker (empty for other strategies).
  std::vector<Stage> stages;
  int aux_width = 0;  ///< layer-parallel: the AuxNets' settings the stages were made with
  int aux_depth = 0;
  int aux_steps = 1;  ///< layer-parallel: AuxNet SGD steps per iteration
  /// Layer-parallel: how stages are coupled, "penalty" or "augmented_lagrangian"; the latter keeps
  /// a multiplier per element of the cut's tensor for each of `multiplier_samples` training samples
  /// on the stage before each cut.
  std::string method = "penalty";
  std::uint64_t multiplier_samples = 0;
  /// Layer-parallel: rounds of the parallel phase; the serial correction's rounds follow them.
  std::uint64_t parallel_rounds = 0;
  std::vector<Round> rounds;
  nlohmann::json scenario;  ///< the scenario document it came from

  std::uint64_t payload_bytes() const;
  std::uint64_t wire_bytes() const;
  /// Parameters of worker `w`'s AuxNet (layer-parallel stages after the first; 0 otherwise): its
  /// own ops train and step them, not the stage's training op, whose assignment counts them.
  std::int64_t aux_params(std::size_t w) const {
    return w < stages.size() && stages[w].aux ? stages[w].aux->params : 0;
  }
};

/// The share of its blocks' FLOPs an assignment trains: an IST slice keeps some neurons of each
/// hidden layer (the matrix products dominate fully connected layers, so its share of the blocks'
/// time and traffic is taken as this); 1 for whole blocks.
double slice_share(const Network& net, const Assignment& a);

}  // namespace resist
