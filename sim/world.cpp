#include <algorithm>

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

sg4::CommPtr World::put(OpId op, WorkerId src, WorkerId dst, double bytes, int channel) {
  for (const std::string& link : route(src, dst).links) link_bytes_[link] += bytes;
  ++transfers_;
  return sg4::Mailbox::by_name(fmt::format("{}.{}:{}>{}", op, channel, src, dst))
      ->put_async(&token, static_cast<std::uint64_t>(bytes));
}

sg4::CommPtr World::get(OpId op, WorkerId src, WorkerId dst, int channel) {
  static void* sink = nullptr;
  return sg4::Mailbox::by_name(fmt::format("{}.{}:{}>{}", op, channel, src, dst))->get_async(&sink);
}

double World::latency(WorkerId src, WorkerId dst) { return route(src, dst).latency; }

const NodeLayout& World::layout(const Op& op) {
  auto [it, made] = layouts_.try_emplace(&op);
  NodeLayout& l = it->second;
  if (!made) return l;
  std::unordered_map<int, std::uint32_t> index;  // star group -> node number
  for (WorkerId w : op.group) {
    const auto [at, added] = index.try_emplace(group(w), static_cast<std::uint32_t>(l.nodes.size()));
    if (added) l.nodes.emplace_back();
    l.node_of.push_back(at->second);
    l.local_of.push_back(static_cast<std::uint32_t>(l.nodes[at->second].size()));
    l.nodes[at->second].push_back(w);
  }
  l.uniform = std::all_of(l.nodes.begin(), l.nodes.end(),
                          [&](const std::vector<WorkerId>& n) { return n.size() == l.nodes.front().size(); });
  l.users = op.group.size();
  return l;
}

void World::release_layout(const Op& op) {
  const auto it = layouts_.find(&op);
  if (it != layouts_.end() && --it->second.users == 0) layouts_.erase(it);
}

}  // namespace resist::sim
