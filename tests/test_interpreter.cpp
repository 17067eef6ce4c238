// The plan interpreter against a recording backend: who calls what, in which order.
#include <doctest/doctest.h>

#include <algorithm>
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

TEST_CASE("observers hear of each op just before it starts and just before it is waited for") {
  // In the backend's own log: on_start right before the op's start call, on_wait right before its
  // wait (what a worker is doing, as its peers may ask when one of them hangs).
  const Plan plan = make_plan(test::scenario({"strategy.workers=4", "strategy.min_depth=4"}), 2);
  std::vector<Call> log;
  RecordingBackend backend(log);
  struct Announcements : Observer {
    std::vector<Call>& log;
    explicit Announcements(std::vector<Call>& l) : log(l) {}
    void on_start(const OpCall& c) override { log.push_back({c.self, c.round.index, c.op.id, "on_start"}); }
    void on_wait(const OpCall& c) override { log.push_back({c.self, c.round.index, c.op.id, "on_wait"}); }
    void on_op(const OpCall&, double, double) override {}
    void on_round(const Plan&, const Round&, WorkerId, double, double) override {}
  } announcements(log);
  for (WorkerId w = 0; w < plan.workers; ++w) {
    Interpreter interpreter(plan, w, backend);
    interpreter.add_observer(announcements);
    interpreter.run();
  }
  std::size_t starts = 0, waits = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    const Call& c = log[i];
    if (c.what != "on_start" && c.what != "on_wait") continue;
    REQUIRE(i + 1 < log.size());
    const Call& next = log[i + 1];
    CHECK(std::tie(next.worker, next.round, next.op) == std::tie(c.worker, c.round, c.op));
    if (c.what == "on_wait") {
      CHECK(next.what == "wait");
      ++waits;
    } else {
      CHECK(next.what != "wait");
      CHECK(next.what.rfind("on_", 0) == std::string::npos);
      ++starts;
    }
  }
  std::size_t member_ops = 0;
  for (const Round& round : plan.rounds)
    for (const Op& op : round.ops) member_ops += op.group.size();
  CHECK(starts == member_ops);
  CHECK(waits == member_ops);
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

namespace {

/// What a backend is told: the op it was handed, as the interpreter handed it.
struct Received {
  WorkerId worker;
  WorkerId peer;
  std::string what;
  const Round* round;
  const Op* op;
};

/// Keeps every call's round and op (the plan outlives the backend).
class KeepingBackend : public Backend {
 public:
  std::vector<Received> calls;
  Ticket compute(const OpCall& c) override { return keep(c, "compute", -1); }
  Ticket send(const OpCall& c, WorkerId peer) override { return keep(c, "send", peer); }
  Ticket recv(const OpCall& c, WorkerId peer) override { return keep(c, "recv", peer); }
  Ticket collective(const OpCall& c) override { return keep(c, "collective", -1); }
  double wait(Ticket) override { return 0; }
  double now() override { return 0; }

 private:
  Ticket keep(const OpCall& c, const char* what, WorkerId peer) {
    calls.push_back({c.self, peer, what, &c.round, &c.op});
    return calls.size() - 1;
  }
};

std::vector<Received> run_all(const Plan& plan) {
  KeepingBackend backend;
  for (WorkerId w = 0; w < plan.workers; ++w) Interpreter(plan, w, backend).run();
  return backend.calls;
}

std::vector<std::string> mlp(const char* strategy, int workers) {
  return {"model.arch=mlp", "model.input=[1,2,2]", "model.hidden=[6,4]", "model.classes=2",
          std::string("strategy.name=") + strategy, "strategy.workers=" + std::to_string(workers),
          "strategy.local_iterations=2", "training.batch_size=8", "training.epochs=null", "training.rounds=3"};
}

}  // namespace

TEST_CASE("data-parallel: compute leaves the step to the gradient all-reduce (one worker: it steps itself)") {
  const Plan plan = make_plan(test::scenario(mlp("data_parallel", 3)));
  int computes = 0, syncs = 0;
  for (const Received& r : run_all(plan)) {
    if (r.what == "compute") {
      ++computes;
      CHECK_FALSE(r.op->step_each_iteration);
      CHECK_FALSE(r.op->fresh_optimizer);
    } else {
      ++syncs;
      CHECK(r.op->payload == Payload::gradients);
      CHECK(r.op->step_after);
    }
  }
  CHECK(computes == 9);
  CHECK(syncs == 9);
  const Plan one = make_plan(test::scenario(mlp("data_parallel", 1)));  // outlives the loop: ops point into it
  for (const Received& r : run_all(one)) {
    CHECK(r.what == "compute");
    CHECK(r.op->step_each_iteration);
  }
}

TEST_CASE("local SGD: steps every iteration, averages state, worker 0 then holds the whole model") {
  const Plan plan = make_plan(test::scenario(mlp("local_sgd", 3)));
  for (const Received& r : run_all(plan)) {
    if (r.what == "compute") CHECK(r.op->step_each_iteration);
    else CHECK_FALSE(r.op->step_after);
    CHECK(r.round->model_complete_on(0));
    CHECK(r.round->eval_scale == 1.0);
    CHECK(r.round->replicated_blocks(plan.workers).size() == plan.network.blocks.size());
  }
}

TEST_CASE("ResIST: the holders after a round are the first holders of the next; the last round gathers on 0") {
  const Plan plan = make_plan(test::scenario({"strategy.workers=4", "strategy.min_depth=2", "strategy.warmup_rounds=1",
                                              "training.epochs=null", "training.rounds=4"}));
  const auto part = plan.network.partitionable_blocks();
  REQUIRE(plan.test_scale < 1.0);
  CHECK(plan.rounds[0].eval_scale == 1.0);  // the warm-up round is local SGD
  CHECK(plan.rounds[0].model_complete_on(0));
  for (std::uint64_t r = 1; r + 1 < plan.rounds.size(); ++r) {
    const Round& round = plan.rounds[r];
    CHECK(round.eval_scale == plan.test_scale);
    for (std::size_t b : part) {
      WorkerId first = -1;
      for (WorkerId w = 0; w < plan.workers && first < 0; ++w) {
        const auto& mine = plan.rounds[r + 1].assignments[static_cast<std::size_t>(w)].blocks;
        if (std::find(mine.begin(), mine.end(), static_cast<BlockIndex>(b)) != mine.end()) first = w;
      }
      CHECK(round.holders_after[b] == first);
    }
    CHECK_FALSE(round.model_complete_on(0));  // spread over the workers
    // The shared blocks are averaged over everyone: those, and only those, are replicated.
    CHECK(round.replicated_blocks(plan.workers).size() == plan.network.blocks.size() - part.size());
  }
  CHECK(plan.rounds.back().model_complete_on(0));
  // Every operation a worker receives is one it takes part in, and the interpreter hands each over once.
  std::size_t members = 0;
  for (const Round& round : plan.rounds)
    for (const Op& op : round.ops) members += op.group.size();
  CHECK(run_all(plan).size() == members);
}

TEST_CASE("IST: each slice transfer names its neurons; gathers on worker 0 average what every slice holds") {
  const Plan plan = make_plan(test::scenario(mlp("ist", 3)));
  int gathers = 0, scatters = 0;
  for (const Received& r : run_all(plan)) {
    if (r.what == "compute") {
      CHECK(r.op->fresh_optimizer);
      CHECK_FALSE(r.round->assignments[static_cast<std::size_t>(r.worker)].neurons.empty());
      continue;
    }
    REQUIRE(r.op->payload == Payload::neuron_slices);
    const bool gather = r.op->root != 0;  // a worker sends its trained slice to worker 0
    const WorkerId owner = gather ? r.op->root : (r.what == "recv" ? r.worker : r.peer);
    if (gather) {
      if (r.what == "recv") ++gathers;
      CHECK(r.op->average_common);
      CHECK(r.op->neurons == r.round->assignments[static_cast<std::size_t>(owner)].neurons);
    } else {  // worker 0 deals the owner its slice of the next round
      if (r.what == "recv") ++scatters;
      CHECK_FALSE(r.op->average_common);
      CHECK(r.op->neurons == plan.rounds[r.round->index + 1].assignments[static_cast<std::size_t>(owner)].neurons);
    }
  }
  CHECK(gathers == 3 * 2);
  CHECK(scatters == 2 * 2);  // none after the last round
  for (const Round& round : plan.rounds) CHECK(round.model_complete_on(0));
}

namespace {

/// Worker `w` makes the same calls (starts and waits) in the same order with the index as by
/// scanning every round.
void same_calls_with_index(const Plan& plan, WorkerId w, const MemberIndex& index) {
  std::vector<Call> scanned, indexed;
  RecordingBackend by_scan(scanned), by_index(indexed);
  Interpreter(plan, w, by_scan).run();
  Interpreter(plan, w, by_index, &index).run();
  REQUIRE(indexed.size() == scanned.size());
  for (std::size_t i = 0; i < scanned.size(); ++i) {
    CHECK(indexed[i].round == scanned[i].round);
    CHECK(indexed[i].op == scanned[i].op);
    CHECK(indexed[i].what == scanned[i].what);
    CHECK(indexed[i].peer == scanned[i].peer);
  }
}

}  // namespace

TEST_CASE("with a member index, every worker makes the same calls in the same order as by scanning the round") {
  for (const char* strategy : {"resist", "local_sgd", "data_parallel"}) {
    CAPTURE(strategy);
    const Plan plan = make_plan(test::scenario({std::string("strategy.name=") + strategy, "strategy.workers=8",
                                                "strategy.min_depth=2"}), 3);
    const MemberIndex index(plan);
    for (WorkerId w = 0; w < plan.workers; ++w) {
      same_calls_with_index(plan, w, index);
      // The index lists exactly the ops the worker is a member of.
      for (const Round& round : plan.rounds) {
        std::vector<OpId> members;
        for (const Op& op : round.ops)
          if (op.has_member(w)) members.push_back(op.id);
        const auto listed = index.ops(round, w);
        CHECK(std::vector<OpId>(listed.begin(), listed.end()) == members);
      }
    }
    std::size_t many_deps = 0;  // ops whose deps outnumber what a member started before them
    for (const Round& round : plan.rounds)
      for (const Op& op : round.ops) {
        CHECK(index.deps_sorted(round, op.id));
        many_deps += op.deps.size() > 2;
      }
    CHECK(many_deps > 0);
    const Plan other = make_plan(test::scenario({"strategy.workers=8"}), 1);
    CHECK_THROWS_AS(index.ops(other.rounds[0], 0), std::logic_error);
    CHECK_THROWS_AS(index.deps_sorted(other.rounds[0], 0), std::logic_error);
    CHECK_THROWS_AS(index.ops(plan.rounds[0], 8), std::logic_error);
  }
}

TEST_CASE("deps in any order: the index says so and members wait for them as a scan does") {
  Plan plan = make_plan(test::scenario({"strategy.name=data_parallel", "strategy.workers=8"}), 2);
  std::size_t reversed = 0;
  for (Round& round : plan.rounds)
    for (Op& op : round.ops)
      if (op.deps.size() > 1) {
        std::reverse(op.deps.begin(), op.deps.end());
        ++reversed;
      }
  REQUIRE(reversed > 0);
  const MemberIndex index(plan);
  for (const Round& round : plan.rounds)
    for (const Op& op : round.ops) CHECK(index.deps_sorted(round, op.id) == (op.deps.size() < 2));
  for (WorkerId w = 0; w < plan.workers; ++w) same_calls_with_index(plan, w, index);
}
