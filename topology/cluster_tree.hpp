// Routes computed from a cluster's shape, in a few steps whatever its size (the simulator routes
// such clusters in one SimGrid zone with them): the one path of a cluster whose links form a tree
// (every generated star, nodes and fat-tree shape), and dimension-order routes on a torus.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "topology/cluster.hpp"

namespace resist {

struct ClusterTree {
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> parent;   ///< by element index; kNone at the root
  std::vector<std::size_t> up_link;  ///< the link to the parent; kNone at the root
  std::vector<int> depth;            ///< the root's is 0
};

/// One step of a path: a link and the way it is crossed (`forward`: from its end `a` to `b`).
struct PathStep {
  std::size_t link = 0;
  bool forward = true;
};

/// The cluster's links as a tree rooted at its first switch (or element 0 without switches), or
/// nullopt when they are not one: a cycle (a ring of 3 or more, a dragonfly, two links between the
/// same elements) or an element that no link reaches.
std::optional<ClusterTree> cluster_tree(const Cluster& cluster);

/// The path from element `from` to element `to`: up from `from` to the lowest element both lie
/// under, then down to `to`. Appends to `out` (cleared first); empty when from == to.
void tree_path(const ClusterTree& tree, const Cluster& cluster, std::size_t from, std::size_t to,
               std::vector<PathStep>& out);

/// A torus cluster's link from each GPU to its next one along each dimension.
struct ClusterTorus {
  std::vector<std::size_t> size, stride;  ///< by dimension
  std::vector<std::size_t> next_link;     ///< [gpu * dimensions + d]; ClusterTree::kNone where none
};

/// The torus of a cluster of shape torus, or nullopt for other shapes.
std::optional<ClusterTorus> cluster_torus(const Cluster& cluster);

/// The dimension-order route from GPU `from` to GPU `to`: along the first dimension to the
/// destination's coordinate, the shorter way round (the next GPU's way on a tie), then the second...
/// Appends to `out` (cleared first).
void torus_path(const ClusterTorus& torus, const Cluster& cluster, std::size_t from, std::size_t to,
                std::vector<PathStep>& out);

}  // namespace resist
