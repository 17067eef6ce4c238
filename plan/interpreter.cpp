#include "plan/interpreter.hpp"

#include <algorithm>

namespace resist {

Interpreter::Interpreter(const Plan& plan, WorkerId self, Backend& backend, const MemberIndex* index)
    : plan_(plan), self_(self), backend_(backend), index_(index) {}

void Interpreter::add_observer(Observer& observer) { observers_.push_back(&observer); }

void Interpreter::run() {
  for (const Round& round : plan_.rounds) run_round(round);
}

std::size_t Interpreter::mine(OpId id) const {
  return static_cast<std::size_t>(std::lower_bound(own_.begin(), own_.end(), id) - own_.begin());
}

void Interpreter::run_round(const Round& round) {
  own_.clear();
  if (index_) {
    const auto ops = index_->ops(round, self_);
    own_.assign(ops.begin(), ops.end());
  } else {
    for (const Op& op : round.ops)
      if (op.has_member(self_)) own_.push_back(op.id);
  }
  flight_.assign(own_.size(), InFlight{});
  const double round_start = backend_.now();
  for (std::size_t k = 0; k < own_.size(); ++k) {
    const Op& op = round.ops[own_[k]];
    if (index_ && op.deps.size() > k && index_->deps_sorted(round, op.id)) {
      // Thousands of deps (a collective after every member's compute), this worker's own ops few:
      // look those up in the deps, in the same ascending order (every member scanning every dep
      // made a round quadratic in the workers).
      for (std::size_t j = 0; j < k; ++j)
        if (!flight_[j].done && std::binary_search(op.deps.begin(), op.deps.end(), own_[j])) finish(round, j);
    } else {
      for (OpId d : op.deps) {
        const std::size_t j = mine(d);
        if (j < own_.size() && own_[j] == d && flight_[j].started && !flight_[j].done) finish(round, j);
      }
    }
    const OpCall call{plan_, round, op, self_};
    for (Observer* o : observers_) o->on_start(call);
    flight_[k].start = backend_.now();
    flight_[k].ticket = start(call);
    flight_[k].started = true;
  }
  for (std::size_t k = 0; k < own_.size(); ++k)
    if (!flight_[k].done) finish(round, k);
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

void Interpreter::finish(const Round& round, std::size_t k) {
  InFlight& f = flight_[k];
  const OpCall call{plan_, round, round.ops[own_[k]], self_};
  for (Observer* o : observers_) o->on_wait(call);
  const double end = backend_.wait(f.ticket);
  f.done = true;
  for (Observer* o : observers_) o->on_op(call, f.start, end);
}

}  // namespace resist
