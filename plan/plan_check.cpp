#include "plan/plan_check.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace resist {
namespace {

class Checker {
 public:
  explicit Checker(const Plan& plan) : plan_(plan) {}

  std::vector<PlanProblem> run() {
    if (plan_.workers < 1) add("/workers", "expected at least 1 worker");
    for (std::size_t r = 0; r < plan_.rounds.size(); ++r) round(plan_.rounds[r], r);
    return std::move(problems_);
  }

 private:
  void add(std::string pointer, std::string message) {
    problems_.push_back({std::move(pointer), std::move(message)});
  }

  void round(const Round& round, std::size_t r) {
    const std::string at = fmt::format("/rounds/{}", r);
    if (round.index != r) add(at + "/index", fmt::format("expected {}, found {}", r, round.index));
    if (round.assignments.size() != static_cast<std::size_t>(plan_.workers))
      add(at + "/assignments", fmt::format("expected {} assignments, found {}", plan_.workers,
                                           round.assignments.size()));
    for (std::size_t w = 0; w < round.assignments.size(); ++w)
      assignment(round.assignments[w], fmt::format("{}/assignments/{}", at, w));
    std::uint64_t wire = 0;
    for (std::size_t i = 0; i < round.ops.size(); ++i) {
      op(round.ops[i], i, fmt::format("{}/ops/{}", at, i));
      wire += round.ops[i].wire_bytes();
    }
    if (wire != round.wire_bytes)
      add(at + "/wire_bytes", fmt::format("expected the ops' sum {}, found {}", wire,
                                          round.wire_bytes));
    if (round.phase == Phase::resist) coverage(round, at);
    if (round.holders_after.size() != plan_.network.blocks.size())
      add(at + "/holders_after", fmt::format("expected one worker per block ({}), found {}",
                                             plan_.network.blocks.size(), round.holders_after.size()));
    for (WorkerId h : round.holders_after)
      if (h < 0 || h >= plan_.workers) add(at + "/holders_after", fmt::format("worker {} does not exist", h));
  }

  void assignment(const Assignment& a, const std::string& at) {
    const std::size_t n = plan_.network.blocks.size();
    for (std::size_t i = 0; i < a.blocks.size(); ++i) {
      if (a.blocks[i] >= n) add(fmt::format("{}/blocks/{}", at, i), "no such block");
      if (i > 0 && a.blocks[i] <= a.blocks[i - 1])
        add(fmt::format("{}/blocks/{}", at, i), "blocks must be in forward order, once each");
    }
  }

  void op(const Op& op, std::size_t i, const std::string& at) {
    if (op.id != i) add(at + "/id", fmt::format("expected {}, found {}", i, op.id));
    group(op, at);
    for (OpId d : op.deps)
      if (d >= op.id) add(at + "/deps", fmt::format("dependency {} is not an earlier op", d));
    for (BlockIndex b : op.blocks)
      if (b >= plan_.network.blocks.size()) add(at + "/blocks", fmt::format("no block {}", b));
    if (op.payload == Payload::neuron_slices && op.neurons.size() != plan_.network.hidden_layers().size())
      add(at + "/neurons", fmt::format("expected the kept neurons of {} hidden layers, found {}",
                                       plan_.network.hidden_layers().size(), op.neurons.size()));
    if (op.is_comm() == (op.payload == Payload::none))
      add(at + "/payload", op.is_comm() ? "communication must carry a payload"
                                        : "compute carries no payload");
  }

  void group(const Op& op, const std::string& at) {
    const auto& g = op.group;
    const std::size_t expected = op.kind == OpKind::compute ? 1 : op.kind == OpKind::send ? 2 : 0;
    if (g.empty() || (expected != 0 && g.size() != expected) ||
        (op.is_comm() && g.size() < 2))
      add(at + "/group", fmt::format("{} cannot have {} members", to_string(op.kind), g.size()));
    for (std::size_t k = 0; k < g.size(); ++k) {
      if (g[k] < 0 || g[k] >= plan_.workers)
        add(at + "/group", fmt::format("worker {} does not exist", g[k]));
      if (k > 0 && g[k] <= g[k - 1]) add(at + "/group", "members must ascend, once each");
    }
    const bool rooted = op.kind != OpKind::allreduce;
    if (rooted && !op.has_member(op.root))
      add(at + "/root", fmt::format("root {} is not a member", op.root));
    if (op.kind != OpKind::allreduce &&
        (op.algorithm == Algorithm::hierarchical_ring || op.algorithm == Algorithm::double_tree))
      add(at + "/algorithm", fmt::format("{} is an all-reduce algorithm, not a {} one", to_string(op.algorithm),
                                         to_string(op.kind)));
  }

  void coverage(const Round& round, const std::string& at) {
    const auto part = plan_.network.partitionable_blocks();
    const int depth = std::min<int>(plan_.min_depth, static_cast<int>(part.size()));
    std::vector<int> holders(plan_.network.blocks.size());
    for (std::size_t w = 0; w < round.assignments.size(); ++w) {
      int mine = 0;
      for (BlockIndex b : round.assignments[w].blocks) {
        if (b >= holders.size()) continue;
        ++holders[b];
        mine += plan_.network.blocks[b].partitionable ? 1 : 0;
      }
      if (mine < depth)
        add(fmt::format("{}/assignments/{}", at, w),
            fmt::format("holds {} partitioned blocks, below the minimum depth {}", mine, depth));
    }
    for (std::size_t b : part)
      if (holders[b] == 0)
        add(at + "/assignments", fmt::format("block {} is held by no worker",
                                             plan_.network.blocks[b].id));
  }

  const Plan& plan_;
  std::vector<PlanProblem> problems_;
};

}  // namespace

std::vector<PlanProblem> check_plan(const Plan& plan) { return Checker(plan).run(); }

}  // namespace resist
