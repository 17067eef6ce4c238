// Walks one worker's part of a plan and drives a backend.
#pragma once

#include <vector>

#include "plan/backend.hpp"
#include "plan/member_index.hpp"

namespace resist {

/// Runs the operations a worker is a member of, in id order. An operation starts once the
/// dependencies this worker took part in have completed; dependencies on other workers' ops are
/// enforced by the communication itself. A worker finishes all its ops of a round before it
/// starts the next round.
class Interpreter {
 public:
  /// With `index` (shared by every worker of one plan), a worker finds its ops without scanning
  /// every op of the round: what a simulation of thousands of workers needs.
  Interpreter(const Plan& plan, WorkerId self, Backend& backend, const MemberIndex* index = nullptr);

  /// Adds an observer; it must outlive the interpreter's runs.
  void add_observer(Observer& observer);
  /// Runs one round.
  void run_round(const Round& round);
  /// Runs every round the plan holds.
  void run();

 private:
  struct InFlight {
    Ticket ticket = 0;
    double start = 0;
    bool started = false;
    bool done = false;
  };

  Ticket start(const OpCall& call);
  /// Waits for this worker's `k`-th op of the round.
  void finish(const Round& round, std::size_t k);
  /// Position of op `id` among this worker's ops of the round, or their count if it is not one.
  std::size_t mine(OpId id) const;

  const Plan& plan_;
  WorkerId self_;
  Backend& backend_;
  const MemberIndex* index_;
  std::vector<Observer*> observers_;
  std::vector<OpId> own_;         ///< this worker's ops of the round, in id order
  std::vector<InFlight> flight_;  ///< one per entry of own_
};

}  // namespace resist
