// The interface between the plan interpreter and an execution engine: SimGrid (sim/),
// LibTorch + c10d (exec/), or a recording stub (tests/). Keep it this short.
#pragma once

#include <cstdint>

#include "plan/plan.hpp"

namespace resist {

/// Identifies an operation a backend has started and not yet been waited for.
using Ticket = std::uint64_t;

/// The operation being started, with the context a backend needs to carry it out.
struct OpCall {
  const Plan& plan;
  const Round& round;
  const Op& op;
  WorkerId self;
};

/// An execution engine. Starting calls may return at once (asynchronous engines) or when the
/// operation is complete; `wait` returns once it is complete, with the time it completed.
class Backend {
 public:
  virtual ~Backend() = default;

  /// Starts training `self`'s assignment of the round for op.iterations local iterations.
  virtual Ticket compute(const OpCall& call) = 0;
  /// Starts sending the op's tensors from `self` (the op's root) to `peer`.
  virtual Ticket send(const OpCall& call, WorkerId peer) = 0;
  /// Starts receiving the op's tensors from `peer` (the op's root).
  virtual Ticket recv(const OpCall& call, WorkerId peer) = 0;
  /// Starts `self`'s part of an allreduce, reduce or broadcast over op.group (root op.root).
  virtual Ticket collective(const OpCall& call) = 0;
  /// Blocks until the operation is complete; returns when it completed, in now()'s clock.
  virtual double wait(Ticket ticket) = 0;
  /// Current time in seconds: simulated, or from a monotonic clock.
  virtual double now() = 0;
};

/// Sees every operation a worker completes, and every round it finishes (traces, progress); and,
/// if it asks, every operation as it starts and every wait for one to complete (where a worker is).
class Observer {
 public:
  virtual ~Observer() = default;
  /// Before the backend starts the op (a compute op runs in that call on synchronous engines).
  virtual void on_start(const OpCall&) {}
  /// Before the interpreter waits for the op to complete.
  virtual void on_wait(const OpCall&) {}
  virtual void on_op(const OpCall& call, double start, double end) = 0;
  virtual void on_round(const Plan& plan, const Round& round, WorkerId self, double start,
                        double end) = 0;
};

}  // namespace resist
