// Collective algorithms as transfers between members' hosts, so contention on shared links is
// simulated, not assumed.
#include <algorithm>

#include "sim/sim_world.hpp"

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

/// Ring all-reduce: 2(n-1) steps of M/n to the next member; coarse: one flow of 2(n-1)M/n and
/// the latencies of the remaining steps as a delay, which matches the step model on uniform links.
void ring_allreduce(World& world, const Op& op, WorkerId self) {
  const auto& g = op.group;  // sorted: the ring's order
  const std::size_t n = g.size(), p = Order(g).position(self);
  const WorkerId next = g[(p + 1) % n], prev = g[(p + n - 1) % n];
  const double chunk = static_cast<double>(op.bytes) / static_cast<double>(n);
  const std::size_t steps = 2 * (n - 1);
  if (world.coarse()) {
    std::vector<sg4::CommPtr> c{world.put(op.id, self, next, chunk * static_cast<double>(steps)),
                                world.get(op.id, prev, self)};
    wait_all(c);
    sg4::this_actor::sleep_for(static_cast<double>(steps - 1) * world.latency(self, next));
    return;
  }
  for (std::size_t s = 0; s < steps; ++s) {
    std::vector<sg4::CommPtr> c{world.put(op.id, self, next, chunk), world.get(op.id, prev, self)};
    wait_all(c);
  }
}

/// Binary-tree reduction towards order[0]: gather from the children, then send to the parent.
void tree_up(World& world, const Op& op, const Order& order, WorkerId self) {
  const std::size_t p = order.position(self), n = order.size();
  std::vector<sg4::CommPtr> c;
  for (std::size_t child : {2 * p + 1, 2 * p + 2})
    if (child < n) c.push_back(world.get(op.id, order[child], self));
  wait_all(c);
  if (p > 0) world.put(op.id, self, order[(p - 1) / 2], static_cast<double>(op.bytes))->wait();
}

/// Binary-tree broadcast from order[0]: receive from the parent, then send to the children.
void tree_down(World& world, const Op& op, const Order& order, WorkerId self) {
  const std::size_t p = order.position(self), n = order.size();
  if (p > 0) world.get(op.id, order[(p - 1) / 2], self)->wait();
  std::vector<sg4::CommPtr> c;
  for (std::size_t child : {2 * p + 1, 2 * p + 2})
    if (child < n) c.push_back(world.put(op.id, self, order[child], static_cast<double>(op.bytes)));
  wait_all(c);
}

/// Every member sends to the root (reduce) or the root sends to every member (broadcast).
void direct(World& world, const Op& op, WorkerId self, bool to_root) {
  std::vector<sg4::CommPtr> c;
  const double bytes = static_cast<double>(op.bytes);
  if (self != op.root) {
    c.push_back(to_root ? world.put(op.id, self, op.root, bytes) : world.get(op.id, op.root, self));
  } else {
    for (WorkerId w : op.group)
      if (w != self) c.push_back(to_root ? world.get(op.id, w, self) : world.put(op.id, self, w, bytes));
  }
  wait_all(c);
}

}  // namespace

void run_collective(World& world, const Op& op, WorkerId self) {
  switch (op.kind) {
    case OpKind::allreduce:
      if (op.algorithm == Algorithm::tree) {
        tree_up(world, op, Order(op.group), self);
        tree_down(world, op, Order(op.group), self);
      } else {
        ring_allreduce(world, op, self);
      }
      return;
    case OpKind::reduce:
      if (op.algorithm == Algorithm::tree) tree_up(world, op, Order(op.group, op.root), self);
      else direct(world, op, self, true);
      return;
    case OpKind::broadcast:
      if (op.algorithm == Algorithm::tree) tree_down(world, op, Order(op.group, op.root), self);
      else direct(world, op, self, false);
      return;
    default:
      return;
  }
}

}  // namespace resist::sim
