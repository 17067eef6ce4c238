#include "plan/partition.hpp"

#include <algorithm>

#include "plan/rng.hpp"

namespace resist {
namespace {

constexpr std::uint64_t kDealSalt = 0x52657349'53544465ULL;   // "ResISTDe"
constexpr std::uint64_t kNeuronSalt = 0x49535453'706c6974ULL; // "ISTSplit"

}  // namespace

BlockDeal deal_blocks(std::uint32_t partitioned, int workers, int min_depth, std::uint64_t seed,
                      std::uint64_t round) {
  BlockDeal deal;
  deal.blocks_of.resize(static_cast<std::size_t>(workers));
  deal.holders_of.resize(partitioned);
  if (partitioned == 0) return deal;
  const std::vector<std::uint32_t> order = Rng(seed, round, kDealSalt).permutation(partitioned);
  const auto depth = static_cast<std::uint64_t>(std::min<int>(min_depth, static_cast<int>(partitioned)));
  const auto n = static_cast<std::uint64_t>(workers);
  if (depth * n > partitioned) {
    // Some worker would fall short of the minimum depth: every worker takes `depth` consecutive
    // blocks of the cyclic permutation. The windows tile it, so every block is held and holder
    // counts differ by at most one.
    for (std::uint64_t w = 0; w < n; ++w)
      for (std::uint64_t j = 0; j < depth; ++j)
        deal.blocks_of[w].push_back(order[(w * depth + j) % partitioned]);
  } else {
    for (std::uint32_t i = 0; i < partitioned; ++i)
      deal.blocks_of[i % static_cast<std::uint32_t>(workers)].push_back(order[i]);
  }
  for (int w = 0; w < workers; ++w) {
    auto& mine = deal.blocks_of[static_cast<std::size_t>(w)];
    std::sort(mine.begin(), mine.end());
    for (std::uint32_t b : mine) deal.holders_of[b].push_back(w);
  }
  return deal;
}

std::vector<std::vector<std::vector<std::uint32_t>>> split_neurons(const std::vector<int>& widths,
                                                                   int workers, std::uint64_t seed,
                                                                   std::uint64_t round) {
  const auto n = static_cast<std::size_t>(workers);
  std::vector<std::vector<std::vector<std::uint32_t>>> out(n,
      std::vector<std::vector<std::uint32_t>>(widths.size()));
  for (std::size_t layer = 0; layer < widths.size(); ++layer) {
    const auto width = static_cast<std::uint32_t>(widths[layer]);
    const std::vector<std::uint32_t> order =
        Rng(seed, round, kNeuronSalt + layer).permutation(width);
    std::size_t begin = 0;
    for (std::size_t w = 0; w < n; ++w) {
      const std::size_t size = width / n + (w < width % n ? 1 : 0);
      auto& chunk = out[w][layer];
      chunk.assign(order.begin() + static_cast<std::ptrdiff_t>(begin),
                   order.begin() + static_cast<std::ptrdiff_t>(begin + size));
      std::sort(chunk.begin(), chunk.end());
      begin += size;
    }
  }
  return out;
}

}  // namespace resist
