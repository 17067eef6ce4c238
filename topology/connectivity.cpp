// Connectivity of a cluster's link graph, checked with Boost.Graph.
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <fmt/format.h>

#include "input/input_error.hpp"
#include "topology/cluster.hpp"

namespace resist {

/// Throws InputError if some worker's GPU cannot reach worker 0's GPU over the links.
/// `worker_pointers[i]` locates worker i's mapping in the document ("" for a generated shape).
void check_connectivity(const Cluster& cluster, const std::vector<std::string>& worker_pointers) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  Graph g(cluster.elements.size());
  for (const ClusterLink& l : cluster.links) boost::add_edge(l.a, l.b, g);
  std::vector<int> component(cluster.elements.size());
  boost::connected_components(g, component.data());
  const std::size_t first = cluster.worker_gpus.front();
  for (std::size_t w = 1; w < cluster.worker_gpus.size(); ++w) {
    const std::size_t gpu = cluster.worker_gpus[w];
    if (component[gpu] == component[first]) continue;
    throw InputError(cluster.source, worker_pointers[w],
                     fmt::format("worker {} is unreachable: GPU \"{}\" has no path of links to "
                                 "worker 0's GPU \"{}\"", w, cluster.elements[gpu].name,
                                 cluster.elements[first].name));
  }
}

}  // namespace resist
