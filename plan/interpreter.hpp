// Walks one worker's part of a plan and drives a backend.
#pragma once

#include <vector>

#include "plan/backend.hpp"

namespace resist {

/// Runs the operations a worker is a member of, in id order. An operation starts once the
/// dependencies this worker took part in have completed; dependencies on other workers' ops are
/// enforced by the communication itself. A worker finishes all its ops of a round before it
/// starts the next round.
class Interpreter {
 public:
  Interpreter(const Plan& plan, WorkerId self, Backend& backend);

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
  void finish(const Round& round, OpId id);

  const Plan& plan_;
  WorkerId self_;
  Backend& backend_;
  std::vector<Observer*> observers_;
  std::vector<InFlight> flight_;
};

}  // namespace resist
