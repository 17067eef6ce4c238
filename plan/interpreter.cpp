#include "plan/interpreter.hpp"

namespace resist {

Interpreter::Interpreter(const Plan& plan, WorkerId self, Backend& backend)
    : plan_(plan), self_(self), backend_(backend) {}

void Interpreter::add_observer(Observer& observer) { observers_.push_back(&observer); }

void Interpreter::run() {
  for (const Round& round : plan_.rounds) run_round(round);
}

void Interpreter::run_round(const Round& round) {
  flight_.assign(round.ops.size(), InFlight{});
  const double round_start = backend_.now();
  for (const Op& op : round.ops) {
    if (!op.has_member(self_)) continue;
    for (OpId d : op.deps)
      if (d < flight_.size() && flight_[d].started && !flight_[d].done) finish(round, d);
    InFlight& f = flight_[op.id];
    f.start = backend_.now();
    f.ticket = start(OpCall{plan_, round, op, self_});
    f.started = true;
  }
  for (const Op& op : round.ops)
    if (flight_[op.id].started && !flight_[op.id].done) finish(round, op.id);
  const double round_end = backend_.now();
  for (Observer* o : observers_) o->on_round(plan_, round, self_, round_start, round_end);
}

Ticket Interpreter::start(const OpCall& call) {
  const Op& op = call.op;
  switch (op.kind) {
    case OpKind::compute: return backend_.compute(call);
    case OpKind::send: {
      const WorkerId other = op.group[0] == op.root ? op.group[1] : op.group[0];
      return self_ == op.root ? backend_.send(call, other) : backend_.recv(call, op.root);
    }
    default: return backend_.collective(call);
  }
}

void Interpreter::finish(const Round& round, OpId id) {
  InFlight& f = flight_[id];
  const double end = backend_.wait(f.ticket);
  f.done = true;
  const OpCall call{plan_, round, round.ops[id], self_};
  for (Observer* o : observers_) o->on_op(call, f.start, end);
}

}  // namespace resist
