// Random decompositions of a network, one per round: ResIST's block deal and IST's neuron split.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/plan.hpp"

namespace resist {

/// Who holds which partitioned block in one ResIST round. Blocks are numbered 0..P-1 in forward
/// order of the network's partitionable blocks.
struct BlockDeal {
  std::vector<std::vector<std::uint32_t>> blocks_of;  ///< per worker, ascending
  std::vector<std::vector<WorkerId>> holders_of;      ///< per block, ascending
};

/// ResIST's deal: a random permutation of the P blocks dealt round-robin to the workers. When that
/// would leave a worker with fewer than `min_depth` blocks, every worker instead takes `min_depth`
/// consecutive blocks of the cyclic permutation (worker w from position w * min_depth), so blocks
/// are shared and every block has the same number of holders, give or take one. Deterministic in
/// (seed, round).
BlockDeal deal_blocks(std::uint32_t partitioned, int workers, int min_depth, std::uint64_t seed,
                      std::uint64_t round);

/// IST's split: every hidden layer's neurons shuffled and cut into `workers` disjoint chunks whose
/// sizes differ by at most one. Result: [worker][layer] -> neuron indices, ascending.
std::vector<std::vector<std::vector<std::uint32_t>>> split_neurons(const std::vector<int>& widths,
                                                                   int workers, std::uint64_t seed,
                                                                   std::uint64_t round);

}  // namespace resist
