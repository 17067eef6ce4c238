// A cluster as a SimGrid platform: GPUs as hosts, switches as routers, full-duplex links.
// A cluster whose links form a tree (the star, nodes and fat-tree shapes) is one zone of every GPU
// that routes by walking the tree (PathZone below): a route is a few steps at 64 or 65,536 GPUs,
// and SimGrid holds one zone's hosts. A torus is such a zone too, routed dimension by dimension. Other clusters where every GPU hangs on one switch (a
// dragonfly) make each switch with its GPUs a star zone, with shortest paths computed only between
// switches (a Dijkstra zone of zones). The rest are one Dijkstra zone of every GPU and switch;
// `sim.routing` = flat asks for that everywhere, stars for star zones wherever they apply; all take
// the same links.
#include <functional>

#include <fmt/format.h>

#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>

#include "sim/sim_world.hpp"
#include "sim/simgrid_compat.hpp"
#include "topology/cluster_tree.hpp"
#include "topology/star_groups.hpp"

namespace resist::sim {
namespace {

using Direction = sg4::LinkInRoute::Direction;

sg4::Host* add_gpu(sg4::NetZone* zone, const Cluster& cluster, std::size_t e, Dtype dtype, double efficiency) {
  const Element& gpu = cluster.elements[e];
  return compat::add_host(zone, gpu.name, cluster.gpu_model(gpu).training_flops(dtype) * efficiency);
}

sg4::Link* add_cluster_link(sg4::NetZone* zone, const ClusterLink& l) {
  return compat::add_split_duplex_link(zone, l.name, l.bandwidth)->set_latency(l.latency)->seal();
}

/// Workers sharing a GPU talk through a loopback per shared GPU (Cluster::loopback_bandwidth).
sg4::Link* add_loopback(sg4::NetZone* zone, const Cluster& cluster, std::size_t e) {
  return compat::add_link(zone, cluster.elements[e].name + "-loopback", cluster.loopback_bandwidth)->set_latency(0)->seal();
}

std::vector<sg4::Host*> build_flat(const Cluster& cluster, Dtype dtype, double efficiency) {
  auto* zone = compat::dijkstra_zone("cluster");
  std::vector<compat::NetPoint*> points(cluster.elements.size());
  std::vector<sg4::Host*> gpus(cluster.elements.size(), nullptr);
  for (std::size_t i = 0; i < cluster.elements.size(); ++i) {
    if (cluster.elements[i].kind == ElementKind::gpu) {
      gpus[i] = add_gpu(zone, cluster, i, dtype, efficiency);
      points[i] = gpus[i]->get_netpoint();
    } else {
      points[i] = compat::add_router(zone, cluster.elements[i].name);
    }
  }
  for (const ClusterLink& l : cluster.links) {
    auto* link = add_cluster_link(zone, l);
    compat::add_route(zone, points[l.a], points[l.b], {{link, Direction::UP}});
    compat::add_route(zone, points[l.b], points[l.a], {{link, Direction::DOWN}});
  }
  const std::vector<int> sharing = cluster.workers_on();
  for (std::size_t i = 0; i < cluster.elements.size(); ++i)
    if (sharing[i] >= 2) compat::add_route(zone, points[i], points[i], {{add_loopback(zone, cluster, i), Direction::NONE}});
  zone->seal();
  std::vector<sg4::Host*> hosts;
  for (std::size_t g : cluster.worker_gpus) hosts.push_back(gpus[g]);
  return hosts;
}

struct ZoneOf {
  sg4::NetZone* zone = nullptr;
  compat::NetPoint* gateway = nullptr;
};

/// A switch's own zone: its router, and its GPUs with their links to it (made beforehand).
ZoneOf add_star(sg4::NetZone* top, const Cluster& cluster, const StarGroup& g, const std::vector<sg4::Link*>& links,
                const std::vector<sg4::Link*>& loopbacks, std::vector<sg4::Host*>& gpus, Dtype dtype, double efficiency) {
  auto* zone = compat::star_zone(top, cluster.elements[g.hub].name + " zone");
  compat::NetPoint* hub = compat::add_router(zone, cluster.elements[g.hub].name);
  compat::set_gateway(zone, hub);
  for (std::size_t i = 0; i < g.gpus.size(); ++i) {
    const std::size_t e = g.gpus[i];
    const ClusterLink& l = cluster.links[g.links[i]];
    gpus[e] = add_gpu(zone, cluster, e, dtype, efficiency);
    // The link's UP way runs from end a to end b, as in the flat zone.
    compat::add_star_route(zone, gpus[e], {{links[g.links[i]], l.a == e ? Direction::UP : Direction::DOWN}});
    if (loopbacks[e])
      compat::add_route(zone, gpus[e]->get_netpoint(), gpus[e]->get_netpoint(), {{loopbacks[e], Direction::NONE}});
  }
  zone->seal();
  return {zone, hub};
}

std::vector<sg4::Host*> build_hierarchical(const Cluster& cluster, const StarDecomposition& d, Dtype dtype,
                                           double efficiency) {
  auto* top = compat::dijkstra_zone("cluster");
  // Every link first, while the top zone has no children: SimGrid 3.32 checks each new name
  // against every zone (a walk of thousands of leaf zones per link at 65,536 GPUs).
  std::vector<sg4::Link*> links;
  for (const ClusterLink& l : cluster.links) links.push_back(add_cluster_link(top, l));
  const std::vector<int> sharing = cluster.workers_on();
  std::vector<sg4::Link*> loopbacks(cluster.elements.size(), nullptr);
  for (std::size_t e = 0; e < cluster.elements.size(); ++e)
    if (sharing[e] >= 2) loopbacks[e] = add_loopback(top, cluster, e);
  std::vector<sg4::Host*> gpus(cluster.elements.size(), nullptr);
  std::vector<ZoneOf> zone_of(cluster.elements.size());
  for (const StarGroup& g : d.groups)
    zone_of[g.hub] = add_star(top, cluster, g, links, loopbacks, gpus, dtype, efficiency);
  for (std::size_t s : d.backbone_switches) {  // a switch between switches: a zone of its router alone
    auto* zone = compat::star_zone(top, cluster.elements[s].name + " zone");
    compat::NetPoint* router = compat::add_router(zone, cluster.elements[s].name);
    compat::set_gateway(zone, router);
    zone->seal();
    zone_of[s] = {zone, router};
  }
  for (std::size_t i : d.backbone_links) {
    const ClusterLink& l = cluster.links[i];
    const ZoneOf& a = zone_of[l.a];
    const ZoneOf& b = zone_of[l.b];
    compat::add_zone_route(top, a.zone, a.gateway, b.zone, b.gateway, {{links[i], Direction::UP}});
    compat::add_zone_route(top, b.zone, b.gateway, a.zone, a.gateway, {{links[i], Direction::DOWN}});
  }
  top->seal();
  std::vector<sg4::Host*> hosts;
  for (std::size_t g : cluster.worker_gpus) hosts.push_back(gpus[g]);
  return hosts;
}

/// Every GPU of a cluster in one zone, routed by a path function of resist's: up and down a
/// tree-shaped cluster (the one path, the flat zone's too) or dimension by dimension on a torus.
/// Why not SimGrid's zones of zones for trees: SimGrid (3.32 and 4.0) checks each new host's name
/// by walking every zone's hosts, and seals each zone by filtering every host of the platform:
/// with a star zone per leaf that is quadratic, 17 s of 45 s at 65,536 GPUs.
class PathZone final : public simgrid::kernel::routing::NetZoneImpl {
 public:
  using PathFn = std::function<void(std::size_t from, std::size_t to, std::vector<PathStep>& out)>;
  PathZone(const std::string& name, const Cluster& cluster, PathFn path)
      : NetZoneImpl(name), cluster_(cluster), path_of_(std::move(path)) {}

  /// The SimGrid links of each cluster link's two ways, and of each GPU's loopback (or null).
  void set_links(const std::vector<sg4::SplitDuplexLink*>& links, const std::vector<sg4::Link*>& loopbacks) {
    for (const sg4::SplitDuplexLink* l : links) {
      up_.push_back(l->get_link_up()->get_impl());
      down_.push_back(l->get_link_down()->get_impl());
    }
    for (const sg4::Link* l : loopbacks) loopback_.push_back(l ? l->get_impl() : nullptr);
  }

  /// A host of this zone stands for cluster element `e`.
  void add_point(const compat::NetPoint* point, std::size_t e) {
    if (element_of_.size() <= point->id()) element_of_.resize(point->id() + 1, ClusterTree::kNone);
    element_of_[point->id()] = e;
  }

 protected:
  void get_local_route(const compat::NetPoint* src, const compat::NetPoint* dst,
                       simgrid::kernel::routing::Route* route, double* latency) override {
    const std::size_t a = element_of_.at(src->id()), b = element_of_.at(dst->id());
    if (a == b) {
      if (loopback_[a]) route->link_list_.push_back(loopback_[a]);  // latency 0
      return;
    }
    path_of_(a, b, path_);
    for (const PathStep& step : path_) {
      route->link_list_.push_back(step.forward ? up_[step.link] : down_[step.link]);
      if (latency) *latency += cluster_.links[step.link].latency;
    }
  }

 private:
  const Cluster& cluster_;  // outlives the engine (run_engine's caller holds it)
  PathFn path_of_;
  std::vector<simgrid::kernel::resource::StandardLinkImpl*> up_, down_, loopback_;
  std::vector<std::size_t> element_of_;  // by netpoint id
  std::vector<PathStep> path_;           // reused by every route
};

std::vector<sg4::Host*> build_routed(const Cluster& cluster, PathZone::PathFn path, Dtype dtype, double efficiency) {
  auto* zone = new PathZone("cluster", cluster, std::move(path));  // SimGrid's engine owns and deletes it
  compat::attach(zone);
  sg4::NetZone* z = zone->get_iface();
  std::vector<sg4::SplitDuplexLink*> links;
  links.reserve(cluster.links.size());
  for (const ClusterLink& l : cluster.links) links.push_back(compat::add_split_duplex_link(z, l.name, l.bandwidth));
  for (std::size_t i = 0; i < links.size(); ++i) links[i]->set_latency(cluster.links[i].latency)->seal();
  const std::vector<int> sharing = cluster.workers_on();
  std::vector<sg4::Link*> loopbacks(cluster.elements.size(), nullptr);
  for (std::size_t e = 0; e < cluster.elements.size(); ++e)
    if (sharing[e] >= 2) loopbacks[e] = add_loopback(z, cluster, e);
  zone->set_links(links, loopbacks);
  std::vector<sg4::Host*> gpus(cluster.elements.size(), nullptr);
  for (std::size_t e = 0; e < cluster.elements.size(); ++e)
    if (cluster.elements[e].kind == ElementKind::gpu) {
      gpus[e] = add_gpu(z, cluster, e, dtype, efficiency);
      zone->add_point(gpus[e]->get_netpoint(), e);
    }
  z->seal();
  std::vector<sg4::Host*> hosts;
  for (std::size_t g : cluster.worker_gpus) hosts.push_back(gpus[g]);
  return hosts;
}

/// Flows crossing a cluster link in one direction at once get `efficiency` of its rate together
/// (SimGrid's non-linear sharing: the link's capacity as a function of its flows); one alone gets
/// all of it. Loopbacks (device memory) keep sharing without loss.
void share_with_loss(const Cluster& cluster, double efficiency) {
  if (efficiency >= 1) return;  // the solver calls the function on every change: none where it is 1
  const auto capacity = [efficiency](double rate, int flows) { return flows >= 2 ? rate * efficiency : rate; };
  for (const ClusterLink& l : cluster.links)
    sg4::SplitDuplexLink::by_name(l.name)->set_sharing_policy(sg4::Link::SharingPolicy::NONLINEAR, capacity);
}

std::vector<sg4::Host*> build_any(const Cluster& cluster, Dtype dtype, double efficiency, const std::string& routing) {
  if (routing != "flat")
    if (auto torus = cluster_torus(cluster))  // dimension-order routes: not always the flat zone's shortest paths
      return build_routed(cluster, [&cluster, t = std::move(*torus)](std::size_t a, std::size_t b, std::vector<PathStep>& out) {
        torus_path(t, cluster, a, b, out);
      }, dtype, efficiency);
  if (routing == "auto")
    if (auto tree = cluster_tree(cluster))
      return build_routed(cluster, [&cluster, t = std::move(*tree)](std::size_t a, std::size_t b, std::vector<PathStep>& out) {
        tree_path(t, cluster, a, b, out);
      }, dtype, efficiency);
  if (routing != "flat")
    if (const auto d = star_decomposition(cluster)) return build_hierarchical(cluster, *d, dtype, efficiency);
  return build_flat(cluster, dtype, efficiency);
}

}  // namespace

std::vector<sg4::Host*> build_platform(const Cluster& cluster, Dtype dtype, const SimSettings& settings) {
  std::vector<sg4::Host*> hosts = build_any(cluster, dtype, settings.efficiency, settings.routing);
  share_with_loss(cluster, settings.shared_link_efficiency);
  return hosts;
}

}  // namespace resist::sim
