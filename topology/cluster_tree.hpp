// A cluster whose links form a tree (every generated star, nodes and fat-tree shape): each element's
// way up to a root, so that the one path between two elements is found in a few steps, whatever
// the cluster's size (the simulator routes such clusters in one SimGrid zone with it).
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
struct TreeStep {
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
               std::vector<TreeStep>& out);

}  // namespace resist
