// Internal to sim/: the SimGrid objects one simulation shares between its actors.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include <simgrid/s4u.hpp>

#include "input/scenario.hpp"
#include "plan/backend.hpp"
#include "topology/cluster.hpp"

namespace resist::sim {

namespace sg4 = simgrid::s4u;

/// A collective's members by star group (node), for hierarchical algorithms.
struct NodeLayout {
  std::vector<std::vector<WorkerId>> nodes;  ///< members of each node, ascending; nodes by first member
  std::vector<std::uint32_t> node_of;        ///< by position in the op's group
  std::vector<std::uint32_t> local_of;       ///< rank within its node, by position in the op's group
  bool uniform = false;                      ///< every node holds as many members
  std::size_t users = 0;                     ///< members yet to release it
};

/// Hosts of the workers and the accounting of what crosses links. SimGrid runs actors one at a
/// time in one thread, so no locking is needed.
class World {
 public:
  /// `groups`: each worker's star group (node), for hierarchical collectives; `flops_per_byte`:
  /// each worker's device's rate over its memory bandwidth (see flops_per_byte()).
  World(const Plan& plan, std::vector<sg4::Host*> hosts, bool coarse, std::vector<int> groups,
        std::vector<double> flops_per_byte)
      : plan_(plan), hosts_(std::move(hosts)), coarse_(coarse), groups_(std::move(groups)),
        flops_per_byte_(std::move(flops_per_byte)) {
    std::unordered_map<const sg4::Host*, int> on;
    for (const sg4::Host* h : hosts_) ++on[h];
    for (const sg4::Host* h : hosts_) shared_.push_back(on[h] >= 2);
  }

  /// Starts sending `bytes` of op `op` from worker `src` to worker `dst`; `channel` tells apart
  /// messages of one op between the same two workers that may be in flight together.
  sg4::CommPtr put(OpId op, WorkerId src, WorkerId dst, double bytes, int channel = 0);
  /// Starts receiving op `op`'s message from `src` on `dst`.
  sg4::CommPtr get(OpId op, WorkerId src, WorkerId dst, int channel = 0);
  /// Latency of the route between two workers' hosts.
  double latency(WorkerId src, WorkerId dst);

  sg4::Host* host(WorkerId w) const { return hosts_[static_cast<std::size_t>(w)]; }
  bool coarse() const { return coarse_; }
  /// True when other workers run on worker `w`'s device too (they time-slice it).
  bool shares_device(WorkerId w) const { return shared_[static_cast<std::size_t>(w)]; }
  /// Work (FLOPs at the host's rate) that moving one byte of device memory costs on worker `w`'s
  /// device: its arithmetic rate over its memory bandwidth (0: bandwidth not known, FLOPs alone).
  double flops_per_byte(WorkerId w) const { return flops_per_byte_[static_cast<std::size_t>(w)]; }
  int group(WorkerId w) const { return groups_[static_cast<std::size_t>(w)]; }
  const Plan& plan() const { return plan_; }
  const std::unordered_map<std::string, double>& link_bytes() const { return link_bytes_; }
  std::uint64_t transfers() const { return transfers_; }
  /// The node layout of a collective, made by its first member; each member releases it once, the
  /// last frees it.
  const NodeLayout& layout(const Op& op);
  void release_layout(const Op& op);

 private:
  struct Route {
    std::vector<std::string> links;
    double latency = 0;
  };
  const Route& route(WorkerId src, WorkerId dst);

  const Plan& plan_;
  std::vector<sg4::Host*> hosts_;
  bool coarse_;
  std::vector<int> groups_;
  std::vector<double> flops_per_byte_;
  std::vector<bool> shared_;
  std::unordered_map<std::uint64_t, Route> routes_;
  std::unordered_map<std::string, double> link_bytes_;
  std::unordered_map<const Op*, NodeLayout> layouts_;
  std::uint64_t transfers_ = 0;
};

/// Runs worker `self`'s part of a collective op; returns when it is done.
void run_collective(World& world, const Op& op, WorkerId self);

/// A member's part of a coarse collective that is one set of transfers started together and a
/// delay after the last of them ends: `delay`, plus `fill_depth` times the transfers' time over
/// `fill_chunks` (a tree root's pipeline fill).
struct OnePhase {
  std::vector<sg4::CommPtr> comms;
  double start = 0;  ///< when the transfers started
  double delay = 0;
  double fill_depth = 0;
  double fill_chunks = 1;
};
/// Starts worker `self`'s part of `op` as one phase, from the calling actor, when the collective
/// model is coarse and the algorithm has a single phase (flat ring all-reduce, reduce and
/// broadcast); nothing otherwise. Needs no helper actor: a worker that starts one and then other
/// ops overlaps them without a second stack.
std::optional<OnePhase> start_one_phase(World& world, const Op& op, WorkerId self);
/// Waits for a phase's transfers and its delay; returns when it ended (its transfers' last end
/// plus the delay, even where the caller comes to wait later).
double finish(OnePhase& phase);

/// Builds the SimGrid platform of a cluster; returns each worker's host. `routing`: "auto" (one
/// zone walking the tree of a tree-shaped cluster, else star zones under a Dijkstra zone of
/// switches where the cluster allows), "stars" (star zones wherever they apply) or "flat" (one
/// Dijkstra zone), from `settings.routing`; hosts at their training rate (GpuModel::training_flops)
/// x `settings.efficiency`, links shared with `settings.shared_link_efficiency`.
std::vector<sg4::Host*> build_platform(const Cluster& cluster, Dtype dtype, const SimSettings& settings);

}  // namespace resist::sim
