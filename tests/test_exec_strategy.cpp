// A strategy the executor has never heard of, written here with plan/'s public API only (rounds
// built with RoundBuilder), trains for real through exec/'s worker: the executor needs no change
// for a new strategy. Three workers as threads of this process, over Gloo on loopback.
#include "exec/checkpoint.hpp"
#include "exec/checkpoint_io.hpp"
#include "exec/net.hpp"
#include "exec/worker.hpp"
#include "plan/round_builder.hpp"
#include "trace/trace.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include <doctest/doctest.h>

#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"
#include "tests/worker_threads.hpp"

using namespace resist;
using namespace resist::test;

namespace {

/// "Ring gossip": every worker trains the whole model; then only the pair (r mod n, r+1 mod n)
/// averages its state. After round r those two hold the same model; the third does not.
void build_gossip_round(const Plan& plan, Round& round) {
  round.phase = Phase::local_sgd;  // a label for reports; the executor does not read it
  const Assignment full = full_assignment(plan.network);
  round.assignments.assign(static_cast<std::size_t>(plan.workers), full);
  RoundBuilder rb(plan, round);
  const std::vector<OpId> computes = rb.compute_all(static_cast<std::uint32_t>(plan.iterations_per_round));
  const auto a = static_cast<WorkerId>(round.index % static_cast<std::uint64_t>(plan.workers));
  const auto b = static_cast<WorkerId>((round.index + 1) % static_cast<std::uint64_t>(plan.workers));
  const std::uint64_t bytes = state_bytes(plan.network, full.blocks, plan.dtype);
  rb.comm(OpKind::allreduce, {std::min(a, b), std::max(a, b)}, -1, Algorithm::ring, Payload::state, bytes,
          full.blocks, {computes[static_cast<std::size_t>(a)], computes[static_cast<std::size_t>(b)]});
  round.holders_after.assign(plan.network.blocks.size(), 0);  // the checkpoint takes worker 0's model
  rb.finish(2 * bytes);
}

const std::vector<std::string> kTiny = {
    "model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,3,1]", "model.input=[3,8,8]",
    "model.classes=4", "strategy.name=local_sgd", "strategy.workers=3", "strategy.local_iterations=4",
    "data.dataset=synthetic", "training.batch_size=16", "training.epochs=null", "training.rounds=4"};

/// The flat parameters of a worker's checkpoint file (BatchNorm's running statistics left out).
torch::Tensor parameters_in(const fs::path& file) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, tensor] : exec::read_worker_model(file))
    if (name.find("running") == std::string::npos && name.find("num_batches") == std::string::npos)
      out.push_back(tensor.reshape({-1}));
  return torch::cat(out);
}

}  // namespace

TEST_CASE("a strategy defined outside the executor trains for real through it") {
  const Scenario s = test::scenario(kTiny);
  Plan plan = make_plan(s);
  for (Round& round : plan.rounds) {  // the same header, other rounds
    round = Round{};
    round.index = static_cast<std::uint64_t>(&round - plan.rounds.data());
    build_gossip_round(plan, round);
  }
  const fs::path dir = scratch() / "gossip";
  const std::vector<exec::WorkerReport> reports = run_worker_threads(s, plan, 3, dir.string()).reports;

  for (const exec::WorkerReport& r : reports) {
    REQUIRE(r.loss.size() == 4);
    CHECK(r.loss.back() < r.loss.front());  // it learns
    for (const auto& c : r.shared_checksum) CHECK_FALSE(c.has_value());  // no all-worker average
  }
  // Each worker ran exactly its own operations: its compute op and the pair averages it is in.
  const Trace trace = trace_from_json(reports[1].trace, "worker 1");
  std::size_t expected = 0;
  for (const Round& round : plan.rounds)
    for (const Op& op : round.ops) expected += op.has_member(1) ? 1 : 0;
  CHECK(trace.events.size() == expected);
  // The last round (3) averaged workers 0 and 1: their models are equal, worker 2's is not.
  const torch::Tensor w0 = parameters_in(exec::worker_state_path(dir, 3, 0));
  const torch::Tensor w1 = parameters_in(exec::worker_state_path(dir, 3, 1));
  const torch::Tensor w2 = parameters_in(exec::worker_state_path(dir, 3, 2));
  CHECK(torch::equal(w0, w1));
  CHECK_FALSE(torch::equal(w0, w2));
  CHECK(fs::exists(exec::global_model_path(dir)));
}
