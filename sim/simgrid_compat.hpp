// What differs between the SimGrid versions resist builds with (Debian 12's 3.32, Debian 13's
// 4.0), in one place: 4.0 renamed the platform calls (create_* -> add_*), moved actor creation to
// the Engine and deprecated the old names, which CI's -Werror turns into errors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u.hpp>
#include <simgrid/version.h>

namespace resist::sim::compat {

/// Whether this build runs under AddressSanitizer (tools/fuzz.sh, -Db_sanitize=address): SimGrid's
/// default contexts switch stacks behind its back (false reports), so actors run as threads then.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

namespace sg4 = simgrid::s4u;
using NetPoint = simgrid::kernel::routing::NetPoint;

#if SIMGRID_VERSION_MAJOR >= 4

/// A zone routing by shortest paths, under the engine's root zone.
inline sg4::NetZone* dijkstra_zone(const std::string& name) {
  return sg4::Engine::get_instance()->get_netzone_root()->add_netzone_dijkstra(name, true);
}
inline sg4::Host* add_host(sg4::NetZone* z, const std::string& name, double speed) { return z->add_host(name, speed); }
inline NetPoint* add_router(sg4::NetZone* z, const std::string& name) { return z->add_router(name); }
inline sg4::SplitDuplexLink* add_split_duplex_link(sg4::NetZone* z, const std::string& name, double bandwidth) {
  return z->add_split_duplex_link(name, bandwidth);
}
inline sg4::Link* add_link(sg4::NetZone* z, const std::string& name, double bandwidth) { return z->add_link(name, bandwidth); }
/// A one-way route between two points of zone `z`.
inline void add_route(sg4::NetZone* z, NetPoint* src, NetPoint* dst, const std::vector<sg4::LinkInRoute>& links) {
  z->add_route(src, dst, links, false);
}
/// A star zone under `parent`: every member has its own links to the zone's centre.
inline sg4::NetZone* star_zone(sg4::NetZone* parent, const std::string& name) { return parent->add_netzone_star(name); }
/// Where routes from outside enter zone `z` (4.0 keeps it with the zone; 3.32 with each route).
inline void set_gateway(sg4::NetZone* z, NetPoint* router) { z->set_gateway(router); }
/// A star zone member's way to the centre; the way back takes each link the other way.
inline void add_star_route(sg4::NetZone* z, sg4::Host* host, const std::vector<sg4::LinkInRoute>& links) {
  z->add_route(host, static_cast<const sg4::Host*>(nullptr), links, true);
}
/// A one-way route of `parent` between two of its zones, entering and leaving at their gateways.
inline void add_zone_route(sg4::NetZone* parent, sg4::NetZone* src, NetPoint* /*gw_src*/, sg4::NetZone* dst,
                           NetPoint* /*gw_dst*/, const std::vector<sg4::LinkInRoute>& links) {
  parent->add_route(src, dst, links, false);
}
template <class F>
sg4::ActorPtr add_actor(const std::string& name, sg4::Host* host, F code) {
  return sg4::Engine::get_instance()->add_actor(name, host, std::move(code));
}
/// A zone made by resist (a NetZoneImpl of its own) under the engine's root zone.
inline void attach(simgrid::kernel::routing::NetZoneImpl* zone) {
  zone->set_parent(sg4::Engine::get_instance()->get_netzone_root()->get_impl());
}

#else

inline sg4::NetZone* dijkstra_zone(const std::string& name) { return sg4::create_dijkstra_zone(name, true); }
inline sg4::Host* add_host(sg4::NetZone* z, const std::string& name, double speed) { return z->create_host(name, speed); }
inline NetPoint* add_router(sg4::NetZone* z, const std::string& name) { return z->create_router(name); }
inline sg4::SplitDuplexLink* add_split_duplex_link(sg4::NetZone* z, const std::string& name, double bandwidth) {
  return z->create_split_duplex_link(name, bandwidth);
}
inline sg4::Link* add_link(sg4::NetZone* z, const std::string& name, double bandwidth) { return z->create_link(name, bandwidth); }
inline void add_route(sg4::NetZone* z, NetPoint* src, NetPoint* dst, const std::vector<sg4::LinkInRoute>& links) {
  z->add_route(src, dst, nullptr, nullptr, links, false);
}
inline sg4::NetZone* star_zone(sg4::NetZone* parent, const std::string& name) {
  return sg4::create_star_zone(name)->set_parent(parent);
}
inline void set_gateway(sg4::NetZone* /*z*/, NetPoint* /*router*/) {}
inline void add_star_route(sg4::NetZone* z, sg4::Host* host, const std::vector<sg4::LinkInRoute>& links) {
  z->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, links, true);
}
inline void add_zone_route(sg4::NetZone* parent, sg4::NetZone* src, NetPoint* gw_src, sg4::NetZone* dst, NetPoint* gw_dst,
                           const std::vector<sg4::LinkInRoute>& links) {
  parent->add_route(src->get_netpoint(), dst->get_netpoint(), gw_src, gw_dst, links, false);
}
template <class F>
sg4::ActorPtr add_actor(const std::string& name, sg4::Host* host, F code) {
  return sg4::Actor::create(name, host, std::move(code));
}
/// A zone made by resist (a NetZoneImpl of its own): the first zone made is the root (models and
/// all); under it otherwise.
inline void attach(simgrid::kernel::routing::NetZoneImpl* zone) {
  sg4::NetZone* root = sg4::Engine::get_instance()->get_netzone_root();
  if (root != zone->get_iface()) zone->set_parent(root->get_impl());
}

#endif

}  // namespace resist::sim::compat
