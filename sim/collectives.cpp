// Collective algorithms as transfers between members' hosts, so contention on shared links is
// simulated, not assumed.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sim/sim_world.hpp"
#include "sim/simgrid_compat.hpp"

namespace resist::sim {
namespace {

void wait_all(std::vector<sg4::CommPtr>& comms) {
  for (auto& c : comms) c->wait();
}

/// The members in tree order without copying them: `first` (the root) and then the rest of the
/// group, which is sorted, so a member's place is a binary search (thousands of members each
/// looking themselves up linearly made a collective quadratic).
class Order {
 public:
  Order(const std::vector<WorkerId>& group, WorkerId first)
      : group_(group), first_(first), first_at_(at(group, first)) {}
  explicit Order(const std::vector<WorkerId>& group) : Order(group, group.front()) {}

  std::size_t size() const { return group_.size(); }
  WorkerId operator[](std::size_t i) const {
    if (i == 0) return first_;
    return i - 1 < first_at_ ? group_[i - 1] : group_[i];
  }
  std::size_t position(WorkerId w) const {
    if (w == first_) return 0;
    const std::size_t k = at(group_, w);
    return k < first_at_ ? k + 1 : k;
  }

 private:
  static std::size_t at(const std::vector<WorkerId>& group, WorkerId w) {
    return static_cast<std::size_t>(std::lower_bound(group.begin(), group.end(), w) - group.begin());
  }
  const std::vector<WorkerId>& group_;
  WorkerId first_;
  std::size_t first_at_;
};

/// The members in the opposite order (the second tree of a double binary tree).
class Reversed {
 public:
  explicit Reversed(const std::vector<WorkerId>& group) : group_(group) {}
  std::size_t size() const { return group_.size(); }
  WorkerId operator[](std::size_t i) const { return group_[group_.size() - 1 - i]; }
  std::size_t position(WorkerId w) const {
    return group_.size() - 1 - static_cast<std::size_t>(std::lower_bound(group_.begin(), group_.end(), w) - group_.begin());
  }

 private:
  const std::vector<WorkerId>& group_;
};

/// The coarse form of `steps` ring steps: one flow of all of them to `next` and one from `prev`,
/// and the latencies of the remaining steps as a delay, which matches the step model on uniform
/// links.
OnePhase ring_phase(World& world, OpId id, WorkerId self, WorkerId next, WorkerId prev, double chunk, std::size_t steps,
                    int channel) {
  OnePhase p;
  p.start = sg4::Engine::get_clock();
  if (steps == 0) return p;
  p.comms = {world.put(id, self, next, chunk * static_cast<double>(steps), channel), world.get(id, prev, self, channel)};
  p.delay = static_cast<double>(steps - 1) * world.latency(self, next);
  return p;
}

/// `steps` ring steps of `chunk` bytes to `next` while receiving as many from `prev`.
void ring_steps(World& world, OpId id, WorkerId self, WorkerId next, WorkerId prev, double chunk, std::size_t steps,
                int channel) {
  if (world.coarse()) {
    OnePhase p = ring_phase(world, id, self, next, prev, chunk, steps, channel);
    finish(p);
    return;
  }
  for (std::size_t s = 0; s < steps; ++s) {
    std::vector<sg4::CommPtr> c{world.put(id, self, next, chunk, channel), world.get(id, prev, self, channel)};
    wait_all(c);
  }
}

/// Worker `self`'s place in a ring all-reduce: 2(n-1) steps of M/n to the next member.
struct RingPlace {
  WorkerId next, prev;
  double chunk;
  std::size_t steps;
};
RingPlace ring_place(const Op& op, WorkerId self) {
  const auto& g = op.group;  // sorted: the ring's order
  const std::size_t n = g.size(), p = Order(g).position(self);
  return {g[(p + 1) % n], g[(p + n - 1) % n], static_cast<double>(op.bytes) / static_cast<double>(n), 2 * (n - 1)};
}

void ring_allreduce(World& world, const Op& op, WorkerId self) {
  const RingPlace r = ring_place(op, self);
  ring_steps(world, op.id, self, r.next, r.prev, r.chunk, r.steps, 0);
}

OnePhase ring_allreduce_phase(World& world, const Op& op, WorkerId self) {
  const RingPlace r = ring_place(op, self);
  return ring_phase(world, op.id, self, r.next, r.prev, r.chunk, r.steps, 0);
}

/// Hierarchical ring all-reduce over N nodes of L members: ring reduce-scatter of M in each node
/// (L-1 steps of M/L), ring all-reduce of each member's shard with the members of the same local
/// rank on the other nodes (2(N-1) steps of M/(LN)), ring all-gather in each node (L-1 steps of
/// M/L). A flat ring where nodes hold different numbers of members.
void hierarchical_ring(World& world, const Op& op, WorkerId self) {
  const NodeLayout& l = world.layout(op);
  if (!l.uniform) {
    ring_allreduce(world, op, self);
    world.release_layout(op);
    return;
  }
  const std::size_t p = Order(op.group).position(self), a = l.node_of[p], r = l.local_of[p];
  const std::size_t nodes = l.nodes.size(), local = l.nodes[a].size();
  const std::vector<WorkerId>& mine = l.nodes[a];
  const WorkerId next = mine[(r + 1) % local], prev = mine[(r + local - 1) % local];
  const WorkerId across_next = l.nodes[(a + 1) % nodes][r], across_prev = l.nodes[(a + nodes - 1) % nodes][r];
  world.release_layout(op);
  const double m = static_cast<double>(op.bytes), shard = m / static_cast<double>(local);
  ring_steps(world, op.id, self, next, prev, shard, local - 1, 0);
  ring_steps(world, op.id, self, across_next, across_prev, shard / static_cast<double>(nodes), 2 * (nodes - 1), 1);
  ring_steps(world, op.id, self, next, prev, shard, local - 1, 2);
}

/// Trees stream their buffer in chunks, as NCCL's do: a member forwards chunk k once it has it,
/// one chunk at a time per edge, so a deep tree costs its depth in chunks, not in buffers. Coarse:
/// one flow per edge, all started at once (the pipeline's steady state), then the latencies of the
/// edge's other chunks and, at the root, the pipeline's fill (the depth in chunks) as delays.
constexpr double kTreeChunkBytes = 1 << 20;
constexpr std::size_t kMaxTreeChunks = 64;

std::size_t tree_chunks(double bytes) {
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(bytes / kTreeChunkBytes)), 1, kMaxTreeChunks);
}

std::size_t depth(std::size_t n) {  // of a heap-shaped binary tree of n members
  std::size_t d = 0;
  while ((std::size_t{1} << (d + 1)) <= n) ++d;
  return d;
}

/// A member's edges of a tree, coarse: one flow per edge, then the latencies of the edge's other
/// chunks and, at the root, the pipeline's fill (`depth` chunks at the pace its flows had).
template <class Tree>
OnePhase tree_phase(World& world, OpId id, double bytes, const Tree& order, WorkerId self, int channel, bool up) {
  const std::size_t p = order.position(self), n = order.size();
  OnePhase out;
  out.start = sg4::Engine::get_clock();
  if (p > 0)
    out.comms.push_back(up ? world.put(id, self, order[(p - 1) / 2], bytes, channel)
                           : world.get(id, order[(p - 1) / 2], self, channel));
  for (std::size_t child : {2 * p + 1, 2 * p + 2})
    if (child < n)
      out.comms.push_back(up ? world.get(id, order[child], self, channel) : world.put(id, self, order[child], bytes, channel));
  const double chunks = static_cast<double>(tree_chunks(bytes));
  if (p > 0) {
    out.delay = (chunks - 1) * world.latency(self, order[(p - 1) / 2]);
  } else {
    out.fill_depth = static_cast<double>(depth(n));
    out.fill_chunks = chunks;
  }
  return out;
}

template <class Tree>
void tree_coarse(World& world, OpId id, double bytes, const Tree& order, WorkerId self, int channel, bool up) {
  OnePhase p = tree_phase(world, id, bytes, order, self, channel, up);
  finish(p);
}

/// Binary-tree reduction towards order[0]: each chunk from the children, then on to the parent.
template <class Tree>
void tree_up(World& world, OpId id, double bytes, const Tree& order, WorkerId self, int channel = 0) {
  if (world.coarse()) return tree_coarse(world, id, bytes, order, self, channel, true);
  const std::size_t p = order.position(self), n = order.size(), chunks = tree_chunks(bytes);
  const double chunk = bytes / static_cast<double>(chunks);
  std::vector<std::vector<sg4::CommPtr>> from_children(chunks);  // posted at once: matched in order
  for (std::size_t k = 0; k < chunks; ++k)
    for (std::size_t child : {2 * p + 1, 2 * p + 2})
      if (child < n) from_children[k].push_back(world.get(id, order[child], self, channel));
  for (std::size_t k = 0; k < chunks; ++k) {
    wait_all(from_children[k]);
    if (p > 0) world.put(id, self, order[(p - 1) / 2], chunk, channel)->wait();
  }
}

/// Binary-tree broadcast from order[0]: each chunk from the parent, then on to the children.
template <class Tree>
void tree_down(World& world, OpId id, double bytes, const Tree& order, WorkerId self, int channel = 0) {
  if (world.coarse()) return tree_coarse(world, id, bytes, order, self, channel, false);
  const std::size_t p = order.position(self), n = order.size(), chunks = tree_chunks(bytes);
  const double chunk = bytes / static_cast<double>(chunks);
  std::vector<sg4::CommPtr> from_parent;
  for (std::size_t k = 0; k < chunks && p > 0; ++k) from_parent.push_back(world.get(id, order[(p - 1) / 2], self, channel));
  for (std::size_t k = 0; k < chunks; ++k) {
    if (p > 0) from_parent[k]->wait();
    std::vector<sg4::CommPtr> sent;
    for (std::size_t child : {2 * p + 1, 2 * p + 2})
      if (child < n) sent.push_back(world.put(id, self, order[child], chunk, channel));
    wait_all(sent);
  }
}

/// Double binary tree: the members in order and in the opposite order as two heap-shaped trees, so
/// that the inner members of one are leaves of the other; each reduces then broadcasts half the
/// buffer, the second in a helper actor beside the first.
void double_tree(World& world, const Op& op, WorkerId self) {
  const double half = static_cast<double>(op.bytes) / 2;
  World* w = &world;
  const Op* o = &op;
  auto second = compat::add_actor(fmt::format("{}.tree2", sg4::this_actor::get_cname()), sg4::this_actor::get_host(),
                                  [w, o, self, half] {
                                    const Reversed order(o->group);
                                    tree_up(*w, o->id, half, order, self, 1);
                                    tree_down(*w, o->id, half, order, self, 1);
                                  });
  const Order order(op.group);
  tree_up(world, op.id, half, order, self, 0);
  tree_down(world, op.id, half, order, self, 0);
  second->join();
}

/// Every member sends to the root (reduce) or the root sends to every member (broadcast).
OnePhase direct_phase(World& world, const Op& op, WorkerId self, bool to_root) {
  OnePhase p;
  p.start = sg4::Engine::get_clock();
  const double bytes = static_cast<double>(op.bytes);
  if (self != op.root) {
    p.comms.push_back(to_root ? world.put(op.id, self, op.root, bytes) : world.get(op.id, op.root, self));
  } else {
    for (WorkerId w : op.group)
      if (w != self) p.comms.push_back(to_root ? world.get(op.id, w, self) : world.put(op.id, self, w, bytes));
  }
  return p;
}

void direct(World& world, const Op& op, WorkerId self, bool to_root) {
  OnePhase p = direct_phase(world, op, self, to_root);
  finish(p);
}

}  // namespace

double finish(OnePhase& phase) {
  double end = phase.start;
  for (auto& c : phase.comms) {
    c->wait();
    end = std::max(end, c->get_finish_time());
  }
  phase.comms.clear();
  const double at = end + phase.delay + phase.fill_depth * ((end - phase.start) / phase.fill_chunks);
  if (at > sg4::Engine::get_clock()) sg4::this_actor::sleep_until(at);
  return at;
}

std::optional<OnePhase> start_one_phase(World& world, const Op& op, WorkerId self) {
  if (!world.coarse()) return std::nullopt;
  const double bytes = static_cast<double>(op.bytes);
  switch (op.kind) {
    case OpKind::allreduce:
      switch (op.algorithm) {
        case Algorithm::tree:
        case Algorithm::hierarchical_ring:
        case Algorithm::double_tree: return std::nullopt;  // two or three phases, one after the other
        default: return ring_allreduce_phase(world, op, self);
      }
    case OpKind::reduce:
      if (op.algorithm == Algorithm::tree) return tree_phase(world, op.id, bytes, Order(op.group, op.root), self, 0, true);
      return direct_phase(world, op, self, true);
    case OpKind::broadcast:
      if (op.algorithm == Algorithm::tree) return tree_phase(world, op.id, bytes, Order(op.group, op.root), self, 0, false);
      return direct_phase(world, op, self, false);
    default:
      return std::nullopt;
  }
}

void run_collective(World& world, const Op& op, WorkerId self) {
  const double bytes = static_cast<double>(op.bytes);
  switch (op.kind) {
    case OpKind::allreduce:
      switch (op.algorithm) {
        case Algorithm::tree:
          tree_up(world, op.id, bytes, Order(op.group), self);
          tree_down(world, op.id, bytes, Order(op.group), self);
          return;
        case Algorithm::hierarchical_ring: return hierarchical_ring(world, op, self);
        case Algorithm::double_tree: return double_tree(world, op, self);
        default: return ring_allreduce(world, op, self);
      }
    case OpKind::reduce:
      if (op.algorithm == Algorithm::tree) tree_up(world, op.id, bytes, Order(op.group, op.root), self);
      else direct(world, op, self, true);
      return;
    case OpKind::broadcast:
      if (op.algorithm == Algorithm::tree) tree_down(world, op.id, bytes, Order(op.group, op.root), self);
      else direct(world, op, self, false);
      return;
    default:
      return;
  }
}

}  // namespace resist::sim
