// The plan interpreter against a recording backend: who calls what, in which order.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>

#include "plan/interpreter.hpp"
#include "tests/helpers.hpp"

using namespace resist;

namespace {

struct Call {
  WorkerId worker;
  std::uint64_t round;
  OpId op;
  std::string what;  // compute, send, recv, collective, wait
  WorkerId peer = -1;
};

/// Records every call; completes operations at once, one tick of a logical clock each.
class RecordingBackend : public Backend {
 public:
  explicit RecordingBackend(std::vector<Call>& log) : log_(log) {}

  Ticket compute(const OpCall& c) override { return record(c, "compute", -1); }
  Ticket send(const OpCall& c, WorkerId peer) override { return record(c, "send", peer); }
  Ticket recv(const OpCall& c, WorkerId peer) override { return record(c, "recv", peer); }
  Ticket collective(const OpCall& c) override { return record(c, "collective", -1); }
  double wait(Ticket t) override {
    const Call& started = log_[t];
    log_.push_back({started.worker, started.round, started.op, "wait"});
    return ++clock_;
  }
  double now() override { return clock_; }

 private:
  Ticket record(const OpCall& c, const char* what, WorkerId peer) {
    log_.push_back({c.self, c.round.index, c.op.id, what, peer});
    return log_.size() - 1;
  }

  std::vector<Call>& log_;
  double clock_ = 0;
};

struct CountingObserver : Observer {
  std::map<std::tuple<std::uint64_t, OpId, WorkerId>, int> ops;
  int rounds = 0;
  bool ordered = true;
  void on_op(const OpCall& c, double start, double end) override {
    ++ops[{c.round.index, c.op.id, c.self}];
    ordered = ordered && start <= end;
  }
  void on_round(const Plan&, const Round&, WorkerId, double start, double end) override {
    ++rounds;
    ordered = ordered && start <= end;
  }
};

}  // namespace

TEST_CASE("every member runs every op once, with the right call, after its dependencies") {
  // Eight workers with a minimum depth: rounds have all-reduces, reduces, broadcasts and sends.
  const Plan plan = make_plan(test::scenario({"strategy.workers=8", "strategy.min_depth=4"}), 3);
  std::vector<Call> log;
  RecordingBackend backend(log);
  CountingObserver observer;
  for (WorkerId w = 0; w < plan.workers; ++w) {
    Interpreter interpreter(plan, w, backend);
    interpreter.add_observer(observer);
    interpreter.run();
  }
  CHECK(observer.ordered);
  CHECK(observer.rounds == 3 * plan.workers);
  std::set<std::string> kinds_seen;
  for (const Round& round : plan.rounds) {
    for (const Op& op : round.ops) {
      kinds_seen.insert(std::string(to_string(op.kind)));
      for (WorkerId w : op.group) CHECK(observer.ops[{round.index, op.id, w}] == 1);
    }
  }
  CHECK(kinds_seen == std::set<std::string>{"compute", "allreduce", "reduce", "broadcast", "send"});
  std::map<std::tuple<WorkerId, std::uint64_t, OpId>, std::size_t> started, waited;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const Call& c = log[i];
    auto& book = c.what == "wait" ? waited : started;
    CHECK(book.emplace(std::make_tuple(c.worker, c.round, c.op), i).second);  // once each
    if (c.what == "wait") continue;
    const Op& op = plan.rounds[c.round].ops[c.op];
    CHECK(op.has_member(c.worker));
    if (op.kind == OpKind::compute) CHECK(c.what == "compute");
    if (op.kind == OpKind::send) {
      CHECK(c.what == (c.worker == op.root ? "send" : "recv"));
      CHECK(c.peer == (c.worker == op.root ? (op.group[0] == op.root ? op.group[1] : op.group[0])
                                           : op.root));
    }
    if (op.kind == OpKind::allreduce || op.kind == OpKind::reduce || op.kind == OpKind::broadcast)
      CHECK(c.what == "collective");
    for (OpId d : op.deps) {
      if (!plan.rounds[c.round].ops[d].has_member(c.worker)) continue;
      const auto done = waited.find({c.worker, c.round, d});
      REQUIRE(done != waited.end());  // waited for before this op started
      CHECK(done->second < i);
    }
  }
}

TEST_CASE("a worker finishes a round before starting the next") {
  const Plan plan = make_plan(test::scenario({"strategy.name=local_sgd"}), 3);
  std::vector<Call> log;
  RecordingBackend backend(log);
  Interpreter(plan, 2, backend).run();
  std::uint64_t round = 0;
  std::size_t outstanding = 0;
  for (const Call& c : log) {
    if (c.round != round) {
      CHECK(outstanding == 0);
      round = c.round;
    }
    outstanding += c.what == "wait" ? -1 : 1;
  }
  CHECK(outstanding == 0);
  CHECK(log.size() == 3 * 2 * 2);  // compute + allreduce per round, each started and waited
}
