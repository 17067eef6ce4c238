// A cluster as a SimGrid platform: GPUs as hosts, switches as routers, full-duplex links, and
// shortest-path routing computed by SimGrid's Dijkstra zone.
#include "sim/sim_world.hpp"
#include "sim/simgrid_compat.hpp"

namespace resist::sim {

std::vector<sg4::Host*> build_platform(const Cluster& cluster, Dtype dtype, double efficiency) {
  using Direction = sg4::LinkInRoute::Direction;
  auto* zone = compat::dijkstra_zone("cluster");
  std::vector<simgrid::kernel::routing::NetPoint*> points(cluster.elements.size());
  std::vector<sg4::Host*> gpus(cluster.elements.size(), nullptr);
  for (std::size_t i = 0; i < cluster.elements.size(); ++i) {
    const Element& e = cluster.elements[i];
    if (e.kind == ElementKind::gpu) {
      const double peak = cluster.gpu_model(e).peak_flops.at(dtype);
      gpus[i] = compat::add_host(zone, e.name, peak * efficiency);
      points[i] = gpus[i]->get_netpoint();
    } else {
      points[i] = compat::add_router(zone, e.name);
    }
  }
  for (const ClusterLink& l : cluster.links) {
    auto* link = compat::add_split_duplex_link(zone, l.name, l.bandwidth)->set_latency(l.latency)->seal();
    compat::add_route(zone, points[l.a], points[l.b], {{link, Direction::UP}});
    compat::add_route(zone, points[l.b], points[l.a], {{link, Direction::DOWN}});
  }
  // Workers sharing a GPU talk through device memory: a fast loopback per shared GPU.
  std::vector<int> workers_on(cluster.elements.size(), 0);
  for (std::size_t g : cluster.worker_gpus) ++workers_on[g];
  for (std::size_t i = 0; i < cluster.elements.size(); ++i) {
    if (workers_on[i] < 2) continue;
    auto* loop = compat::add_link(zone, cluster.elements[i].name + "-loopback", 1e12)->set_latency(0)->seal();
    compat::add_route(zone, points[i], points[i], {{loop, Direction::NONE}});
  }
  zone->seal();
  std::vector<sg4::Host*> hosts;
  for (std::size_t g : cluster.worker_gpus) hosts.push_back(gpus[g]);
  return hosts;
}

}  // namespace resist::sim
