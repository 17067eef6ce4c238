// Where a worker is in its plan: kept by observing the interpreter, served on its probe port,
// and described when a peer gave up waiting (who hangs, or is behind).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exec/net.hpp"
#include "exec/whereabouts.hpp"
#include "plan/interpreter.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using exec::Position;

namespace {

/// A backend that completes everything at once and, at each call, notes where the observed worker
/// says it is.
class Snooping : public Backend {
 public:
  Snooping(const exec::Whereabouts& here, double& clock) : here_(here), clock_(clock) {}
  Ticket compute(const OpCall& c) override { return note(c, "compute"); }
  Ticket send(const OpCall& c, WorkerId) override { return note(c, "send"); }
  Ticket recv(const OpCall& c, WorkerId) override { return note(c, "recv"); }
  Ticket collective(const OpCall& c) override { return note(c, "collective"); }
  double wait(Ticket t) override {
    clock_ += 1;  // each wait lasts a second
    waits.push_back({started[t].first, here_.now()});
    return clock_;
  }
  double now() override { return clock_; }

  std::vector<std::pair<const Op*, Position>> started;  ///< the op, and the position as it started
  std::vector<std::pair<const Op*, Position>> waits;    ///< the op waited for, and the position then

 private:
  Ticket note(const OpCall& c, const char*) {
    started.push_back({&c.op, here_.now()});
    return started.size() - 1;
  }
  const exec::Whereabouts& here_;
  double& clock_;
};

Position at(Position::Doing doing, std::uint64_t round, OpId op = 0, OpKind kind = OpKind::compute,
            double seconds = 3.0, WorkerId peer = -1, bool sends = false) {
  Position p;
  p.doing = doing;
  p.round = round;
  p.op = op;
  p.kind = kind;
  p.seconds = seconds;
  p.peer = peer;
  p.sends = sends;
  return p;
}

}  // namespace

TEST_CASE("a worker's whereabouts follow its interpreter: computing, waiting in which op, past a round") {
  const Plan plan = make_plan(test::scenario({"strategy.workers=4", "strategy.min_depth=4"}), 2);
  double clock = 100;
  exec::Whereabouts here([&clock] { return clock; });
  CHECK(here.now().doing == Position::Doing::setting_up);
  clock = 103;
  CHECK(here.now().seconds == doctest::Approx(3.0));
  Snooping backend(here, clock);
  const WorkerId self = 1;
  Interpreter interpreter(plan, self, backend);
  interpreter.add_observer(here);
  interpreter.run_round(plan.rounds[0]);
  // As each op started: computing it, or in it (communication).
  REQUIRE(!backend.started.empty());
  for (const auto& [op, p] : backend.started) {
    CHECK(p.round == 0);
    CHECK(p.op == op->id);
    CHECK(p.kind == op->kind);
    CHECK(p.doing == (op->is_comm() ? Position::Doing::waiting : Position::Doing::computing));
    CHECK(p.seconds == 0);
  }
  // While waiting for a transfer: which one, and the other end.
  bool saw_transfer = false;
  for (const auto& [op, p] : backend.waits) {
    CHECK(p.op == op->id);
    CHECK(p.doing == (op->is_comm() ? Position::Doing::waiting : Position::Doing::computing));
    if (op->kind != OpKind::send) continue;
    saw_transfer = true;
    CHECK(p.sends == (op->root == self));
    CHECK(p.peer == (op->root == self ? (op->group[0] == self ? op->group[1] : op->group[0]) : op->root));
  }
  CHECK(saw_transfer);
  CHECK(here.now() == at(Position::Doing::round_done, 0, 0, OpKind::compute, 0.0));
  clock += 2.5;
  CHECK(here.now().seconds == doctest::Approx(2.5));
  interpreter.run_round(plan.rounds[1]);  // the last: training is over
  CHECK(here.now().doing == Position::Doing::finished);
  CHECK(here.now().round == 1);
}

TEST_CASE("a position reads back from what a peer serves, and anything else is refused") {
  const Position p = at(Position::Doing::waiting, 7, 12, OpKind::send, 4.25, 3, true);
  CHECK(exec::position_from_json(nlohmann::json::parse(exec::to_json(p).dump())) == p);
  for (Position::Doing d : {Position::Doing::setting_up, Position::Doing::computing, Position::Doing::between_ops,
                            Position::Doing::round_done, Position::Doing::finished}) {
    const Position q = at(d, 2, 5, OpKind::broadcast, 1.0);
    CHECK(exec::position_from_json(exec::to_json(q)) == q);
  }
  nlohmann::json bad = exec::to_json(p);
  bad["doing"] = "dancing";
  CHECK_THROWS_WITH(exec::position_from_json(bad), "\"doing\": unknown \"dancing\"");
  bad = exec::to_json(p);
  bad["kind"] = "gossip";
  CHECK_THROWS_WITH(exec::position_from_json(bad), "\"kind\": unknown \"gossip\"");
  bad = exec::to_json(p);
  bad.erase("round");
  CHECK_THROWS_WITH_AS(exec::position_from_json(bad), doctest::Contains("not a worker's position"), std::runtime_error);
  CHECK_THROWS_AS(exec::position_from_json(nlohmann::json::array()), std::runtime_error);
}

TEST_CASE("each position reads as what the worker does, rounds counted from 1") {
  using D = Position::Doing;
  CHECK(exec::describe(at(D::setting_up, 0)) == "setting up, not yet training (for 3.0 s)");
  CHECK(exec::describe(at(D::computing, 2, 0)) == "computing in round 3 (op 0, for 3.0 s)");
  CHECK(exec::describe(at(D::waiting, 2, 7, OpKind::allreduce)) == "waiting in round 3's all-reduce (op 7, for 3.0 s)");
  CHECK(exec::describe(at(D::waiting, 2, 8, OpKind::broadcast)) == "waiting in round 3's broadcast (op 8, for 3.0 s)");
  CHECK(exec::describe(at(D::waiting, 2, 5, OpKind::send, 3.0, 2, true)) ==
        "waiting in round 3 to send to worker 2 (op 5, for 3.0 s)");
  CHECK(exec::describe(at(D::waiting, 2, 5, OpKind::send, 3.0, 0, false)) ==
        "waiting in round 3 for a transfer from worker 0 (op 5, for 3.0 s)");
  CHECK(exec::describe(at(D::between_ops, 2, 5)) == "in round 3, past op 5 (for 3.0 s)");
  CHECK(exec::describe(at(D::round_done, 1)) == "done with round 2, round 3 not begun (for 3.0 s)");
  CHECK(exec::describe(at(D::finished, 3)) == "done training, waiting for the others at the end (for 3.0 s)");
}

TEST_CASE("the workers' whereabouts name the one behind, or the one outside a transfer the others wait in") {
  using D = Position::Doing;
  const Position ring = at(D::waiting, 2, 7, OpKind::allreduce, 3.0);
  SUBCASE("one worker a round behind (it hangs between rounds)") {
    Position later = ring;
    later.seconds = 3.2;  // grouped with the others; the longest shown
    CHECK(exec::describe_whereabouts({ring, at(D::round_done, 1, 0, OpKind::compute, 3.1), later, ring}) ==
          "where the workers are: worker 1 done with round 2, round 3 not begun (for 3.1 s); "
          "workers 0, 2, 3 waiting in round 3's all-reduce (op 7, for 3.2 s): worker 1 is behind the others");
  }
  SUBCASE("one worker still computing the round the others wait to end") {
    CHECK(exec::describe_whereabouts({ring, ring, ring, ring, at(D::computing, 2, 0, OpKind::compute, 40.0), ring}) ==
          "where the workers are: workers 0-3, 5 waiting in round 3's all-reduce (op 7, for 3.0 s); "
          "worker 4 computing in round 3 (op 0, for 40.0 s): "
          "worker 4 is in no transfer while the others wait in one");
  }
  SUBCASE("every worker in a transfer: nobody is named") {
    const Position from0 = at(D::waiting, 2, 5, OpKind::send, 3.0, 0, false);
    const Position to1 = at(D::waiting, 2, 5, OpKind::send, 3.0, 1, true);
    CHECK(exec::describe_whereabouts({to1, from0}) ==
          "where the workers are: worker 0 waiting in round 3 to send to worker 1 (op 5, for 3.0 s); "
          "worker 1 waiting in round 3 for a transfer from worker 0 (op 5, for 3.0 s)");
  }
  SUBCASE("a worker that did not say") {
    CHECK(exec::describe_whereabouts({ring, std::nullopt, ring}) ==
          "where the workers are: workers 0, 2 waiting in round 3's all-reduce (op 7, for 3.0 s); worker 1 did not say");
    CHECK(exec::describe_whereabouts({std::nullopt, std::nullopt}) == "where the workers are: workers 0, 1 did not say");
  }
  SUBCASE("one finished, the others a round behind: those are named") {
    CHECK(exec::describe_whereabouts({at(D::finished, 3), ring, ring}) ==
          "where the workers are: workers 1, 2 waiting in round 3's all-reduce (op 7, for 3.0 s); "
          "worker 0 done training, waiting for the others at the end (for 3.0 s): workers 1, 2 are behind the others");
  }
}

TEST_CASE("a probe port with a status answers each asker with its line, from a thread of its own") {
  std::atomic<int> asked = 0;
  const exec::ProbePort port("127.0.0.1", [&asked] { return "line " + std::to_string(++asked); });
  const exec::ProbePort mute("127.0.0.1");  // accepts nothing: no line
  std::string gone;
  {
    const exec::ProbePort closed("127.0.0.1", [] { return std::string("never"); });
    gone = closed.address();
  }
  const exec::ProbePort failing("127.0.0.1", []() -> std::string { throw std::runtime_error("no position yet"); });
  const auto answers = exec::ask_peers({port.address(), mute.address(), gone, "no-port", failing.address()},
                                       std::chrono::milliseconds(500));
  REQUIRE(answers.size() == 5);
  CHECK(answers[0] == std::optional<std::string>("line 1"));
  CHECK(!answers[1]);  // answers the connection, says nothing within the time
  CHECK(!answers[2]);  // refused
  CHECK(!answers[3]);  // not an address
  CHECK(!answers[4]);  // its status threw: nothing said
  CHECK(exec::ask_peers({port.address()}, std::chrono::seconds(2)).front() == std::optional<std::string>("line 2"));
  // Liveness probes still see it answer (the line it writes to a prober gone at once is no fault).
  CHECK(exec::probe_peers({port.address(), gone}, std::chrono::seconds(2)) ==
        std::vector{exec::PeerState::answers, exec::PeerState::not_running});
  CHECK(exec::ask_peers({port.address()}, std::chrono::seconds(2)).front().has_value());
}
