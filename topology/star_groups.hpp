// A cluster seen as star groups: a switch with the GPUs that hang on it alone, and the backbone
// of switches between them. The simulator builds each group as a SimGrid star zone (a route costs
// the same whatever the cluster's size) and routes only the backbone by shortest paths.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "topology/cluster.hpp"

namespace resist {

/// A switch and the GPUs whose one link goes to it.
struct StarGroup {
  std::size_t hub = 0;             ///< element index of the switch
  std::vector<std::size_t> gpus;   ///< element indices of its GPUs
  std::vector<std::size_t> links;  ///< index of each GPU's link, in the order of `gpus`
};

struct StarDecomposition {
  std::vector<StarGroup> groups;               ///< in the order of their switches
  std::vector<std::size_t> backbone_switches;  ///< switches without GPUs of their own
  std::vector<std::size_t> backbone_links;     ///< switch-to-switch links, in the cluster's order
  /// The group a switch heads, or -1 (backbone switches and GPUs), by element index.
  std::vector<int> group_of_switch;
};

/// The star groups of a cluster, or nullopt when some GPU does not have exactly one link, to a
/// switch (GPUs joined by NVLink to each other, say): such a cluster is routed as one graph.
std::optional<StarDecomposition> star_decomposition(const Cluster& cluster);

/// The star group of each worker's GPU (its node's switch, or its leaf on a fat-tree of 1-GPU
/// hosts), numbered in the order of the groups; all 0 when the cluster has no star decomposition.
std::vector<int> worker_groups(const Cluster& cluster);

}  // namespace resist
