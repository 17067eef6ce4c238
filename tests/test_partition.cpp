// Random decompositions: ResIST's block deal and IST's neuron split.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "plan/partition.hpp"
#include "plan/rng.hpp"

using namespace resist;

namespace {

struct DealCase {
  std::uint32_t partitioned;
  int workers;
  int min_depth;
};

void check_deal(const BlockDeal& deal, const DealCase& c) {
  const std::size_t depth = static_cast<std::size_t>(std::min<int>(c.min_depth, c.partitioned));
  std::size_t least = c.partitioned, most = 0;
  for (const auto& mine : deal.blocks_of) {
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    CHECK(std::adjacent_find(mine.begin(), mine.end()) == mine.end());
    CHECK(mine.size() >= depth);
    least = std::min(least, mine.size());
    most = std::max(most, mine.size());
  }
  CHECK(most - least <= 1);
  std::size_t fewest = deal.blocks_of.size(), busiest = 0, held = 0;
  for (std::uint32_t b = 0; b < c.partitioned; ++b) {
    const auto& holders = deal.holders_of[b];
    CHECK(!holders.empty());
    for (WorkerId w : holders) {
      const auto& mine = deal.blocks_of[static_cast<std::size_t>(w)];
      CHECK(std::binary_search(mine.begin(), mine.end(), b));
    }
    fewest = std::min(fewest, holders.size());
    busiest = std::max(busiest, holders.size());
    held += holders.size();
  }
  CHECK(busiest - fewest <= 1);  // shared blocks spread evenly
  std::size_t dealt = 0;
  for (const auto& mine : deal.blocks_of) dealt += mine.size();
  CHECK(dealt == held);
  if (c.min_depth == 0) CHECK(held == c.partitioned);  // disjoint without a minimum depth
}

}  // namespace

TEST_CASE("ResIST's deal: every block held, min depth honoured, counts within one") {
  const DealCase cases[] = {{22, 4, 0}, {22, 4, 6}, {22, 8, 0}, {22, 8, 4}, {22, 8, 22},
                            {5, 3, 2},  {49, 1024, 0}, {49, 1024, 3}, {1, 2, 1}, {7, 7, 7},
                            {12, 5, 1}, {3, 16, 2}};
  for (const DealCase& c : cases) {
    CAPTURE(c.partitioned);
    CAPTURE(c.workers);
    CAPTURE(c.min_depth);
    for (std::uint64_t round = 0; round < 20; ++round)
      check_deal(deal_blocks(c.partitioned, c.workers, c.min_depth, 42, round), c);
  }
}

TEST_CASE("the deal is dealt round-robin from a permutation") {
  // With P = S * k and no minimum depth, every worker gets exactly k blocks.
  const BlockDeal deal = deal_blocks(12, 4, 0, 3, 0);
  for (const auto& mine : deal.blocks_of) CHECK(mine.size() == 3);
  SUBCASE("a minimum depth above P/S gives every worker exactly that many") {
    const BlockDeal deep = deal_blocks(12, 4, 5, 3, 0);
    for (const auto& mine : deep.blocks_of) CHECK(mine.size() == 5);
  }
}

TEST_CASE("deals are deterministic per seed and differ across rounds and seeds") {
  auto same = [](const BlockDeal& a, const BlockDeal& b) { return a.blocks_of == b.blocks_of; };
  CHECK(same(deal_blocks(22, 4, 0, 7, 5), deal_blocks(22, 4, 0, 7, 5)));
  std::set<std::vector<std::vector<std::uint32_t>>> seen;
  for (std::uint64_t r = 0; r < 20; ++r) seen.insert(deal_blocks(22, 4, 0, 7, r).blocks_of);
  CHECK(seen.size() == 20);
  CHECK_FALSE(same(deal_blocks(22, 4, 0, 7, 0), deal_blocks(22, 4, 0, 8, 0)));
}

TEST_CASE("IST's neuron split: disjoint chunks within one of each other, covering the layer") {
  const std::vector<int> widths{10, 7, 64};
  const auto split = split_neurons(widths, 3, 11, 2);
  REQUIRE(split.size() == 3);
  for (std::size_t layer = 0; layer < widths.size(); ++layer) {
    std::vector<std::uint32_t> all;
    std::size_t least = 1000, most = 0;
    for (const auto& worker : split) {
      const auto& chunk = worker[layer];
      CHECK(std::is_sorted(chunk.begin(), chunk.end()));
      all.insert(all.end(), chunk.begin(), chunk.end());
      least = std::min(least, chunk.size());
      most = std::max(most, chunk.size());
    }
    CHECK(most - least <= 1);
    std::sort(all.begin(), all.end());
    std::vector<std::uint32_t> expected(static_cast<std::size_t>(widths[layer]));
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::uint32_t>(i);
    CHECK(all == expected);
  }
  CHECK(split_neurons(widths, 3, 11, 2) == split);
  CHECK(split_neurons(widths, 3, 11, 3) != split);
}

TEST_CASE("the generator is fully specified, so plans match across platforms") {
  Rng rng(1, 0, 0);
  // Golden values: a change here changes every plan ever made; bump Plan::kVersion if intended.
  CHECK(rng.next() == 0x1a2a69903431e5b4ULL);
  CHECK(Rng(1, 0, 0).permutation(8) == std::vector<std::uint32_t>{5, 6, 7, 2, 1, 3, 0, 4});
  for (std::uint64_t n : {1ULL, 2ULL, 3ULL, 1000ULL}) CHECK(rng.below(n) < n);
}
