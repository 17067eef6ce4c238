// Plan generation: payload and wire bytes worked by hand, schedules, truncation, warm-up, scale.
#include <doctest/doctest.h>

#include <algorithm>

#include "plan/plan_check.hpp"
#include "plan/plan_json.hpp"
#include "tests/helpers.hpp"

using namespace resist;

namespace {

/// IST's smallest interesting net: 4 inputs, one hidden layer of 4, 2 classes.
std::vector<std::string> tiny_mlp(const char* strategy, int workers, int rounds) {
  return {"model.arch=mlp", "model.input=[1,2,2]", "model.hidden=[4]", "model.classes=2",
          std::string("strategy.name=") + strategy, "strategy.workers=" + std::to_string(workers),
          "strategy.local_iterations=2", "training.batch_size=8", "training.epochs=null",
          "training.rounds=" + std::to_string(rounds)};
}

/// preact_resnet18 at width 1/4 with stage depths [1,1,3,1]: two partitionable blocks.
std::vector<std::string> tiny_resnet(int workers, int min_depth, int rounds) {
  return {"model.arch=preact_resnet18", "model.width=0.25", "model.depths=[1,1,3,1]",
          "strategy.workers=" + std::to_string(workers),
          "strategy.min_depth=" + std::to_string(min_depth), "strategy.local_iterations=5",
          "training.batch_size=4", "training.epochs=null", "training.rounds=" + std::to_string(rounds)};
}

std::vector<const Op*> ops_of(const Round& r, OpKind kind) {
  std::vector<const Op*> out;
  for (const Op& op : r.ops)
    if (op.kind == kind) out.push_back(&op);
  return out;
}

WorkerId holder(const Plan& plan, const Round& r, BlockIndex block) {
  for (std::size_t w = 0; w < r.assignments.size(); ++w) {
    const auto& mine = r.assignments[w].blocks;
    if (std::binary_search(mine.begin(), mine.end(), block)) return static_cast<WorkerId>(w);
  }
  FAIL("block held by nobody: " << plan.network.blocks[block].id);
  return -1;
}

}  // namespace

TEST_CASE("wire bytes of each operation kind") {
  Op op;
  op.bytes = 100;
  op.group = {0, 1, 2, 3};
  op.kind = OpKind::allreduce;
  CHECK(op.wire_bytes() == 600);  // ring: 2(n-1)/n of the buffer from each of n workers
  op.group = {0, 2, 5};
  op.kind = OpKind::reduce;
  CHECK(op.wire_bytes() == 200);
  op.kind = OpKind::broadcast;
  CHECK(op.wire_bytes() == 200);
  op.group = {1, 4};
  op.kind = OpKind::send;
  CHECK(op.wire_bytes() == 100);
  op.kind = OpKind::compute;
  op.group = {1};
  CHECK(op.wire_bytes() == 0);
}

TEST_CASE("data-parallel and local SGD on a tiny MLP, worked by hand") {
  // fc1: 4x4 weights + 4 bias + 8 BatchNorm = 28 params, 8 buffers; out: 4x2 + 2 = 10 params.
  const std::uint64_t grads = (28 + 10) * 4, state = (28 + 10 + 8) * 4;
  const Plan dp = make_plan(test::scenario(tiny_mlp("data_parallel", 3, 2)));
  REQUIRE(dp.rounds.size() == 2);
  CHECK(dp.rounds[0].payload_bytes == 2 * 3 * grads);
  CHECK(dp.rounds[0].wire_bytes == 2 * 2 * grads);
  REQUIRE(ops_of(dp.rounds[0], OpKind::allreduce).size() == 1);
  const Op& ar = *ops_of(dp.rounds[0], OpKind::allreduce).front();
  CHECK(ar.payload == Payload::gradients);
  CHECK(ar.deps == std::vector<OpId>{0, 1, 2});
  CHECK(ops_of(dp.rounds[0], OpKind::compute).front()->iterations == 1);
  const Plan local = make_plan(test::scenario(tiny_mlp("local_sgd", 3, 2)));
  CHECK(local.rounds[1].payload_bytes == 2 * 3 * state);
  CHECK(local.rounds[1].wire_bytes == 2 * 2 * state);
  const Op& compute = *ops_of(local.rounds[0], OpKind::compute).front();
  CHECK(compute.iterations == 2);
  CHECK(compute.samples == 16);
  CHECK(compute.flops == doctest::Approx(16 * 3 * local.network.total_forward_flops()));
}

TEST_CASE("IST on a tiny MLP, worked by hand") {
  // Each of 2 workers keeps 2 of the 4 hidden neurons: 2x4 + 2 + 4 = 14 params and 4 buffers in
  // fc1, 2x2 weights + 2 bias = 6 in the output layer: 24 floats, 96 bytes.
  const Plan plan = make_plan(test::scenario(tiny_mlp("ist", 2, 3)));
  const std::uint64_t slice = 96, whole = (28 + 8 + 10) * 4;
  REQUIRE(plan.rounds.size() == 3);
  const Round& r0 = plan.rounds[0];
  CHECK(r0.assignments[0].params == 20);
  CHECK(r0.assignments[0].neurons.size() == 1);
  CHECK(r0.assignments[0].neurons[0].size() == 2);
  CHECK(r0.payload_bytes == 2 * slice + 2 * slice);
  CHECK(r0.wire_bytes == slice + slice);  // worker 1 sends its slice and receives the next
  const auto sends = ops_of(r0, OpKind::send);
  REQUIRE(sends.size() == 2);
  CHECK(sends[0]->root == 1);
  CHECK(sends[1]->root == 0);
  CHECK(std::find(sends[1]->deps.begin(), sends[1]->deps.end(), sends[0]->id) != sends[1]->deps.end());
  const Round& last = plan.rounds[2];
  CHECK(last.payload_bytes == 2 * slice + whole);  // worker 0 assembles the whole model
  CHECK(last.wire_bytes == slice);
}

TEST_CASE("ResIST with two workers and two partitioned blocks, worked by hand") {
  const Plan plan = make_plan(test::scenario(tiny_resnet(2, 0, 6)));
  const Network& net = plan.network;
  const auto part = net.partitionable_blocks();
  REQUIRE(part.size() == 2);
  const std::uint64_t b1 = net.blocks[part[0]].state_bytes(Dtype::fp32);
  const std::uint64_t b2 = net.blocks[part[1]].state_bytes(Dtype::fp32);
  const std::uint64_t all = (net.total_params() + net.total_buffers()) * 4;
  const std::uint64_t shared = all - b1 - b2;
  CHECK(plan.test_scale == doctest::Approx(0.5));
  for (std::size_t r = 0; r < plan.rounds.size(); ++r) {
    CAPTURE(r);
    const Round& round = plan.rounds[r];
    // Each worker holds one of the two blocks; every tensor is sent once and received once.
    CHECK(round.payload_bytes == 2 * 2 * shared + 2 * (b1 + b2));
    std::uint64_t moved = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      const auto b = static_cast<BlockIndex>(part[i]);
      const WorkerId now = holder(plan, round, b);
      const WorkerId next = r + 1 < plan.rounds.size() ? holder(plan, plan.rounds[r + 1], b) : 0;
      if (now != next) moved += net.blocks[b].state_bytes(Dtype::fp32);
    }
    CHECK(round.wire_bytes == 2 * 1 * shared + moved);
    CHECK(ops_of(round, OpKind::reduce).empty());
    CHECK(ops_of(round, OpKind::allreduce).size() == 1);
  }
}

TEST_CASE("ResIST with a minimum depth reduces shared blocks over their holders") {
  // Four workers, two blocks, min depth 1: every block has two holders in every round.
  const Plan plan = make_plan(test::scenario(tiny_resnet(4, 1, 4)));
  CHECK(plan.test_scale == doctest::Approx(0.5));  // each worker holds 1 of 2 blocks
  const Network& net = plan.network;
  const auto part = net.partitionable_blocks();
  for (const Round& round : plan.rounds) {
    const auto reduces = ops_of(round, OpKind::reduce);
    REQUIRE(reduces.size() == 2);
    for (const Op* op : reduces) {
      CHECK(op->group.size() == 2);
      CHECK(op->has_member(op->root));
      CHECK(op->deps.size() == 2);  // the holders' compute ops
      CHECK(op->bytes == net.blocks[op->blocks.front()].state_bytes(Dtype::fp32));
    }
    std::uint64_t shared = 0;
    for (const Block& b : net.blocks)
      if (!b.partitionable) shared += b.state_bytes(Dtype::fp32);
    std::uint64_t blocks = 0;
    for (std::size_t i : part) blocks += net.blocks[i].state_bytes(Dtype::fp32);
    if (round.index + 1 < plan.total_rounds)
      CHECK(round.payload_bytes == 2 * 4 * shared + (2 + 2) * blocks);
    else
      CHECK(round.payload_bytes == 2 * 4 * shared + (2 + 1) * blocks);
  }
}

TEST_CASE("the last ResIST round gathers the partitioned blocks on worker 0") {
  const Plan plan = make_plan(test::scenario(tiny_resnet(4, 0, 3)));
  const Round& last = plan.rounds.back();
  for (const Op& op : last.ops) {
    if (op.kind == OpKind::send) CHECK(op.has_member(0));
    CHECK(op.kind != OpKind::broadcast);
  }
}

TEST_CASE("a single worker communicates nothing") {
  const Plan plan = make_plan(test::scenario(tiny_resnet(1, 0, 2)));
  for (const Round& r : plan.rounds) {
    CHECK(r.ops.size() == 1);
    CHECK(r.payload_bytes == 0);
    CHECK(r.wire_bytes == 0);
  }
}

TEST_CASE("warm-up rounds are local SGD, then ResIST") {
  auto sets = tiny_resnet(2, 0, 5);
  sets.push_back("strategy.warmup_rounds=2");
  const Plan plan = make_plan(test::scenario(sets));
  CHECK(plan.rounds[0].phase == Phase::local_sgd);
  CHECK(plan.rounds[1].phase == Phase::local_sgd);
  CHECK(plan.rounds[2].phase == Phase::resist);
  CHECK(plan.rounds[0].assignments[0].blocks.size() == plan.network.blocks.size());
  CHECK(plan.rounds[2].assignments[0].blocks.size() < plan.network.blocks.size());
}

TEST_CASE("a truncated plan is the full plan's prefix") {
  const Scenario s = test::scenario(tiny_resnet(4, 1, 9));
  Plan full = make_plan(s);
  const Plan part = make_plan(s, 4);
  CHECK(part.total_rounds == 9);
  REQUIRE(part.rounds.size() == 4);
  full.rounds.resize(4);
  CHECK(plan_to_json(part) == plan_to_json(full));
}

TEST_CASE("plans of the paper's setup are sound for every strategy") {
  for (const char* strategy : {"resist", "local_sgd", "data_parallel"}) {
    CAPTURE(strategy);
    const Plan plan = make_plan(test::scenario({std::string("strategy.name=") + strategy}), 5);
    const auto problems = check_plan(plan);
    CHECK(problems.empty());
    for (const PlanProblem& p : problems) MESSAGE(p.pointer << ": " << p.message);
  }
  const Plan min_depth = make_plan(test::scenario({"strategy.workers=8", "strategy.min_depth=4"}), 5);
  CHECK(check_plan(min_depth).empty());
  const Plan ist = make_plan(test::scenario(tiny_mlp("ist", 4, 3)));
  CHECK(check_plan(ist).empty());
}

TEST_CASE("check_plan finds planted faults") {
  Plan plan = make_plan(test::scenario(tiny_resnet(4, 0, 2)));
  SUBCASE("a dependency on a later op") {
    plan.rounds[0].ops[4].deps.push_back(7);
    REQUIRE_FALSE(check_plan(plan).empty());
    CHECK(check_plan(plan).front().pointer == "/rounds/0/ops/4/deps");
  }
  SUBCASE("an unsorted group") {
    std::swap(plan.rounds[0].ops[4].group[0], plan.rounds[0].ops[4].group[1]);
    CHECK(check_plan(plan).front().message == "members must ascend, once each");
  }
  SUBCASE("a block held by nobody") {
    for (Assignment& a : plan.rounds[1].assignments)
      a.blocks.erase(std::remove(a.blocks.begin(), a.blocks.end(),
                                 plan.network.partitionable_blocks().front()), a.blocks.end());
    CHECK(check_plan(plan).front().message == "block layer3.1 is held by no worker");
  }
  SUBCASE("wire bytes that do not add up") {
    plan.rounds[1].wire_bytes += 1;
    CHECK(check_plan(plan).front().pointer == "/rounds/1/wire_bytes");
  }
  SUBCASE("an all-reduce algorithm on another kind of op") {
    for (Op& op : plan.rounds[1].ops)
      if (op.kind == OpKind::send) op.algorithm = Algorithm::double_tree;
    REQUIRE_FALSE(check_plan(plan).empty());
    CHECK(check_plan(plan).front().message == "double_tree is an all-reduce algorithm, not a send one");
    CHECK(check_plan(plan).front().pointer.ends_with("/algorithm"));
  }
  SUBCASE("a root outside its group") {
    // The last round always sends worker 1's block to worker 0.
    for (Op& op : plan.rounds[1].ops)
      if (op.kind == OpKind::send) op.root = 99;
    REQUIRE_FALSE(check_plan(plan).empty());
    CHECK(check_plan(plan).front().message == "root 99 is not a member");
  }
}

TEST_CASE("a plan too large to hold is refused before its rounds are made") {
  const Scenario big = test::scenario({"strategy.workers=65536", "training.epochs=null", "training.rounds=100000"});
  const std::string error = test::input_error([&] { make_plan(big); });
  CHECK(error.rfind("<built-in default>: a plan of 100000 rounds of 65536 workers would take about ", 0) == 0);
  CHECK(error.find("GiB of memory, above the limit of 4 GiB: ask for fewer rounds (--rounds N)") != std::string::npos);
  CHECK(make_plan(big, 2).rounds.size() == 2);  // a few of its rounds are fine
  // The estimate is what a round really holds: the first round's bytes times the rounds.
  const Plan small = make_plan(test::scenario({"strategy.workers=8", "training.epochs=null", "training.rounds=3"}));
  CHECK(round_bytes(small.rounds[0]) > 8 * small.rounds[0].assignments[0].blocks.size() * sizeof(BlockIndex));
}
