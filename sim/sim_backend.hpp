// Internal to sim/: the Backend the plan interpreter drives inside a SimGrid actor.
#pragma once

#include <functional>
#include <memory>
#include <cstdint>
#include <optional>
#include <vector>

#include "plan/backend.hpp"
#include "plan/cost_table.hpp"
#include "input/scenario.hpp"
#include "sim/sim_world.hpp"

namespace resist::sim {

class SimBackend final : public Backend {
 public:
  /// With a cost table, compute is timed from its per-block seconds; without, from FLOPs.
  SimBackend(World& world, WorkerId self, const SimSettings& settings, const CostTable* table = nullptr)
      : world_(world), self_(self), settings_(settings), table_(table) {}

  Ticket compute(const OpCall& call) override;
  Ticket send(const OpCall& call, WorkerId peer) override;
  Ticket recv(const OpCall& call, WorkerId peer) override;
  Ticket collective(const OpCall& call) override;
  double wait(Ticket ticket) override;
  double now() override;

 private:
  struct Pending {
    sg4::ActivityPtr activity;       ///< compute, send or receive
    sg4::ActorPtr helper;            ///< collective
    std::shared_ptr<double> finish;  ///< when the helper finished
    std::function<void()> deferred;  ///< a collective not started yet (see `defer`)
    std::optional<OnePhase> phase;   ///< a one-phase collective started from this actor
    std::uint64_t round = 0;         ///< for its helper's name, should it need one
    OpId op = 0;
  };
  Ticket keep(sg4::ActivityPtr activity);

  /// Keeps `body` (a collective's part, or a send with an overhead) to run in this worker's actor
  /// when the interpreter waits for it next, which takes no helper actor (thousands of workers
  /// made as many helpers, each with a stack). If another op starts first, `body` moves to a helper
  /// actor then: nothing happened in between, so the simulated times are the same either way.
  Ticket defer(const OpCall& call, std::function<void()> body);
  /// Moves a deferred body, if any, to a helper actor.
  void start_deferred();

  World& world_;
  WorkerId self_;
  const SimSettings& settings_;
  const CostTable* table_;
  std::vector<Pending> pending_;
  std::optional<Ticket> deferred_;  ///< the one body waiting in this actor, if any
};

}  // namespace resist::sim
