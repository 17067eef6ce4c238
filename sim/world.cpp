#include <fmt/format.h>

#include "sim/sim_world.hpp"

namespace resist::sim {
namespace {

int token;  // SimGrid refuses null payloads; every message carries this address

}  // namespace

const World::Route& World::route(WorkerId src, WorkerId dst) {
  const std::uint64_t key = (static_cast<std::uint64_t>(src) << 32) | static_cast<std::uint32_t>(dst);
  auto it = routes_.find(key);
  if (it != routes_.end()) return it->second;
  std::vector<sg4::Link*> links;
  Route r;
  host(src)->route_to(host(dst), links, &r.latency);
  for (const sg4::Link* l : links) r.links.push_back(l->get_name());
  return routes_.emplace(key, std::move(r)).first->second;
}

sg4::CommPtr World::put(OpId op, WorkerId src, WorkerId dst, double bytes) {
  for (const std::string& link : route(src, dst).links) link_bytes_[link] += bytes;
  ++transfers_;
  return sg4::Mailbox::by_name(fmt::format("{}:{}>{}", op, src, dst))
      ->put_async(&token, static_cast<std::uint64_t>(bytes));
}

sg4::CommPtr World::get(OpId op, WorkerId src, WorkerId dst) {
  static void* sink = nullptr;
  return sg4::Mailbox::by_name(fmt::format("{}:{}>{}", op, src, dst))->get_async(&sink);
}

double World::latency(WorkerId src, WorkerId dst) { return route(src, dst).latency; }

}  // namespace resist::sim
