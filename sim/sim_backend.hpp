// Internal to sim/: the Backend the plan interpreter drives inside a SimGrid actor.
#pragma once

#include <functional>
#include <memory>
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
  };
  Ticket keep(sg4::ActivityPtr activity);

  Ticket in_helper(const OpCall& call, std::function<void()> body);

  World& world_;
  WorkerId self_;
  const SimSettings& settings_;
  const CostTable* table_;
  std::vector<Pending> pending_;
};

}  // namespace resist::sim
