#include "model/stages.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "model/cost_counter.hpp"

namespace resist {
namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

/// Halves an extent as a 3x3 convolution of stride 2 and padding 1 does (and ResNets' stems).
int halved(int extent) { return (extent - 1) / 2 + 1; }

/// Which stage starts can be reached with a given bottleneck: stage costs are prefix sums of the
/// blocks' FLOPs plus the AuxNet of the stage's first block (`aux[j]`, infinite where none fits).
class CutSearch {
 public:
  CutSearch(int stages, const std::vector<double>& block_cost, const std::vector<double>& aux_cost)
      : n_(block_cost.size()), k_(static_cast<std::size_t>(stages)), prefix_(n_ + 1, 0), aux_(aux_cost) {
    for (std::size_t i = 0; i < n_; ++i) prefix_[i + 1] = prefix_[i] + block_cost[i];
    aux_[0] = 0;
  }

  /// Whether a stage of blocks [j, i) costs at most `limit` (one comparison for search and backtrack).
  bool fits(std::size_t j, std::size_t i, double limit) const { return prefix_[i] <= limit + prefix_[j] - aux_[j]; }

  /// Fills reach_[m][i]: blocks [0, i) split into m stages of at most `limit` each.
  bool feasible(double limit) {
    reach_.assign((k_ + 1) * (n_ + 1), 0);
    reach_[0] = 1;
    std::vector<int> marks(n_ + 2, 0);
    // The furthest end of a stage starting at each block (prefix sums ascend: a search), or the
    // start itself when not even one block fits.
    std::vector<std::size_t> reach_to(n_, 0);
    for (std::size_t j = 0; j < n_; ++j) {
      if (!fits(j, j + 1, limit)) {
        reach_to[j] = j;
        continue;
      }
      const double bound = limit + prefix_[j] - aux_[j];
      const auto after = std::upper_bound(prefix_.begin() + static_cast<std::ptrdiff_t>(j + 1), prefix_.end(), bound);
      reach_to[j] = static_cast<std::size_t>(after - prefix_.begin()) - 1;
    }
    std::size_t first = 0, last = 0;  // where the positions reached so far lie
    for (std::size_t m = 1; m <= k_; ++m) {
      // Stage m starts at a position reached with m - 1 stages and leaves a block for each of the
      // k - m stages after it.
      const std::size_t until = std::min(last, n_ - (k_ - m) - 1);
      std::size_t next_first = n_ + 1, next_last = 0;
      for (std::size_t j = first; j <= until; ++j) {
        const std::size_t end = reach_to[j];
        if (!at(m - 1, j) || end == j) continue;
        ++marks[j + 1];
        --marks[end + 1];
        next_first = std::min(next_first, j + 1);
        next_last = std::max(next_last, end);
      }
      if (next_first > n_) return false;  // nothing reached: no split under this limit
      int open = 0;
      for (std::size_t i = next_first; i <= next_last + 1 && i <= n_ + 1; ++i) {
        open += marks[i];
        marks[i] = 0;
        if (i <= n_) reach_[m * (n_ + 1) + i] = open > 0 ? 1 : 0;
      }
      first = next_first;
      last = next_last;
    }
    return at(k_, n_);
  }

  /// Stage starts 2..K under `limit` (feasible(limit) called last), later stages as short as they can be.
  std::vector<std::size_t> cuts(double limit) const {
    std::vector<std::size_t> out;
    std::size_t end = n_;
    for (std::size_t m = k_; m > 1; --m) {
      std::size_t j = end;
      while (j-- > 0)
        if (at(m - 1, j) && fits(j, end, limit)) break;
      out.push_back(j);
      end = j;
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  double upper_bound() const {
    double extra = 0;
    for (double a : aux_)
      if (a != kNever) extra += a;
    return prefix_[n_] + extra;
  }

 private:
  bool at(std::size_t m, std::size_t i) const { return reach_[m * (n_ + 1) + i] != 0; }

  std::size_t n_, k_;
  std::vector<double> prefix_, aux_;
  std::vector<unsigned char> reach_;
};

}  // namespace

AuxNet make_auxnet(const Network& net, std::size_t cut, int width, int depth) {
  const Block& target = net.blocks.at(cut);
  AuxNet aux;
  aux.in_size = {net.spec.input[1], net.spec.input[2]};
  aux.out_size = target.in_size;
  aux.out_channels = target.in_channels;
  Size2 at = aux.in_size;
  int channels = net.spec.input[0];
  CostCounter c;
  const auto hidden = [&](int stride) {
    aux.layers.push_back({channels, width, stride, true});
    at = c.conv(channels, width, 3, stride, 1, at);
    c.batch_norm(width, at);
    c.relu(width, at);
    channels = width;
  };
  while (at.h > aux.out_size.h || at.w > aux.out_size.w) {
    if (halved(at.h) < aux.out_size.h || halved(at.w) < aux.out_size.w) break;
    hidden(2);
  }
  if (!(at == aux.out_size))
    throw StageError(fmt::format("block {} takes {}x{} feature maps, which halving the {}x{} image does not reach",
                                 target.id, aux.out_size.h, aux.out_size.w, aux.in_size.h, aux.in_size.w));
  if (aux.layers.empty()) hidden(1);
  for (int i = 0; i < depth; ++i) hidden(1);
  aux.layers.push_back({channels, aux.out_channels, 1, false});
  c.conv(channels, aux.out_channels, 3, 1, 1, at);
  Block costs;
  c.fill(costs);
  aux.params = costs.params;
  aux.buffers = costs.buffers;
  aux.forward_flops = costs.forward_flops;
  aux.activations = costs.activations;
  return aux;
}

double Stage::block_train_flops(const Network& net) const {
  double total = 0;
  for (std::size_t b = first; b < end; ++b) total += net.blocks[b].train_flops();
  return total;
}

std::vector<double> auxnet_train_flops(const Network& net, int aux_width, int aux_depth) {
  std::vector<double> out(net.blocks.size(), kNever);
  for (std::size_t j = 1; j < net.blocks.size(); ++j) try {
      out[j] = make_auxnet(net, j, aux_width, aux_depth).train_flops();
    } catch (const StageError&) {
    }
  return out;
}

std::vector<std::size_t> balanced_cuts(const Network& net, int stages, int aux_width, int aux_depth, int aux_steps) {
  if (stages < 1 || static_cast<std::size_t>(stages) > net.blocks.size())
    throw StageError(fmt::format("{} stages need at least {} blocks; {} has {}", stages, stages, net.spec.arch,
                                 net.blocks.size()));
  std::vector<double> blocks, aux = auxnet_train_flops(net, aux_width, aux_depth);
  for (const Block& b : net.blocks) blocks.push_back(b.train_flops());
  for (double& a : aux) a *= aux_steps;  // one forward, then a forward and backward per step
  return balanced_cuts(stages, blocks, aux);
}

std::vector<std::size_t> balanced_cuts(int stages, const std::vector<double>& block_cost,
                                       const std::vector<double>& aux_cost) {
  if (stages < 1 || static_cast<std::size_t>(stages) > block_cost.size() || aux_cost.size() != block_cost.size())
    throw StageError(fmt::format("{} stages need at least {} blocks, found {}", stages, stages, block_cost.size()));
  CutSearch search(stages, block_cost, aux_cost);
  double lo = 0, hi = search.upper_bound();
  if (!search.feasible(hi))
    throw StageError(fmt::format("the network cannot be cut into {} stages: too few blocks take inputs an AuxNet "
                                 "can produce", stages));
  for (int i = 0; i < 200 && hi - lo > 1e-6 * hi; ++i) {  // a stage within 1e-6 of the best
    const double mid = 0.5 * (lo + hi);
    (search.feasible(mid) ? hi : lo) = mid;
  }
  search.feasible(hi);
  return search.cuts(hi);
}

std::vector<Stage> make_stages(const Network& net, const std::vector<std::size_t>& cuts, int aux_width, int aux_depth) {
  std::vector<Stage> stages;
  std::size_t first = 0;
  for (std::size_t k = 0; k <= cuts.size(); ++k) {
    Stage s;
    s.first = first;
    s.end = k < cuts.size() ? cuts[k] : net.blocks.size();
    if (k > 0) s.aux = make_auxnet(net, s.first, aux_width, aux_depth);
    first = s.end;
    stages.push_back(std::move(s));
  }
  return stages;
}

}  // namespace resist
