// What differs between the SimGrid versions resist builds with (Debian 12's 3.32, Debian 13's
// 4.0), in one place: 4.0 renamed the platform calls (create_* -> add_*), moved actor creation to
// the Engine and deprecated the old names, which CI's -Werror turns into errors.
#pragma once

#include <string>
#include <utility>
#include <vector>

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
template <class F>
sg4::ActorPtr add_actor(const std::string& name, sg4::Host* host, F code) {
  return sg4::Engine::get_instance()->add_actor(name, host, std::move(code));
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
template <class F>
sg4::ActorPtr add_actor(const std::string& name, sg4::Host* host, F code) {
  return sg4::Actor::create(name, host, std::move(code));
}

#endif

}  // namespace resist::sim::compat
