// Comparing a simulated with a measured trace: matching, errors worked by hand, and refusals.
#include <doctest/doctest.h>

#include "trace/trace_compare.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using resist::test::input_error;

namespace {

/// Two workers, rounds 0..rounds-1: each computes for `compute` s, then an all-reduce of 1 MB
/// takes `comm` s. Round r starts at r * (compute + comm).
Trace two_workers(int rounds, double compute, double comm, const std::string& source = "measured") {
  Trace t;
  t.meta = {source, "local_sgd", 2, "preact_resnet18", {}};
  for (int r = 0; r < rounds; ++r) {
    const double at = r * (compute + comm);
    for (WorkerId w = 0; w < 2; ++w) {
      t.events.push_back({w, static_cast<std::uint64_t>(r), static_cast<OpId>(w), OpKind::compute, at, at + compute, 0, 1e9, {}});
      t.events.push_back({w, static_cast<std::uint64_t>(r), 2, OpKind::allreduce, at + compute, at + compute + comm, 1'000'000, 0, {}});
      t.rounds.push_back({w, static_cast<std::uint64_t>(r), at, at + compute + comm});
    }
  }
  return t;
}

}  // namespace

TEST_CASE("errors per kind, per round and in total, worked by hand") {
  // Predicted: 1 s compute + 0.5 s all-reduce; measured: 0.8 s + 0.2 s.
  const Comparison c = compare_traces(two_workers(4, 1.0, 0.5, "simulated"), "sim.json",
                                      two_workers(4, 0.8, 0.2), "meas.json");
  CHECK(c.ops.size() == 16);
  REQUIRE(c.kinds.size() == 2);
  CHECK(c.kinds[0].kind == OpKind::compute);
  CHECK(c.kinds[0].count == 8);
  CHECK(c.kinds[0].predicted_s == doctest::Approx(8.0));
  CHECK(c.kinds[0].measured_s == doctest::Approx(6.4));
  CHECK(c.kinds[0].error == doctest::Approx(0.25));
  CHECK(c.kinds[1].kind == OpKind::allreduce);
  CHECK(c.kinds[1].error == doctest::Approx(1.5));
  CHECK(c.kinds[1].median_abs_op_error == doctest::Approx(1.5));
  REQUIRE(c.rounds.size() == 4);
  CHECK(c.rounds[2].predicted_s == doctest::Approx(1.5));
  CHECK(c.rounds[2].measured_s == doctest::Approx(1.0));
  CHECK(c.rounds[2].error == doctest::Approx(0.5));
  CHECK(c.rounds[2].measured_comm_s == doctest::Approx(0.2));
  CHECK(c.median_round_error == doctest::Approx(0.5));
  CHECK(c.total_error == doctest::Approx(0.5));
  CHECK(c.top_differences(1).front().kind == OpKind::allreduce);  // 0.3 s off, compute 0.2 s
  const std::string text = comparison_text(c);
  CHECK(text.find("per-round error: median 50.0%, 90th percentile 50.0%; total time predicted 6.000 s, "
                  "measured 4.000 s (+50.0%)") != std::string::npos);
  CHECK(comparison_to_json(c)["kinds"][1]["count"] == 8);
}

TEST_CASE("only the rounds both traces hold are compared") {
  const Comparison c = compare_traces(two_workers(5, 1, 0.5, "simulated"), "sim.json", two_workers(3, 1, 0.5), "meas.json");
  CHECK(c.rounds.size() == 3);
  CHECK(c.only_simulated_rounds == std::vector<std::uint64_t>{3, 4});
  CHECK(c.median_round_error == doctest::Approx(0));
  CHECK(comparison_text(c).find("(compared the 3 rounds both traces hold; 2 rounds only simulated, 0 only measured)") != std::string::npos);
}

TEST_CASE("traces of different plans are refused, saying what differs") {
  const Trace sim = two_workers(2, 1, 0.5, "simulated");
  Trace other = two_workers(2, 1, 0.5);
  const auto refused = [&](const Trace& measured) {
    return input_error([&] { compare_traces(sim, "sim.json", measured, "meas.json"); });
  };
  SUBCASE("strategy") {
    other.meta.strategy = "resist";
    CHECK(refused(other) == "meas.json: /otherData/strategy: not a trace of the same plan as sim.json: "
                            "strategy local_sgd there, resist here");
  }
  SUBCASE("workers") {
    other.meta.workers = 3;
    CHECK(refused(other) == "meas.json: /otherData/workers: not a trace of the same plan as sim.json: 2 "
                            "workers there, 3 here");
  }
  SUBCASE("an operation only one trace has") {
    other.events.pop_back();
    CHECK(refused(other) == "sim.json: /traceEvents: not a trace of the same plan as meas.json: round 1 "
                            "worker 1 op 2 (allreduce) is only in sim.json");
  }
  SUBCASE("an operation of another kind") {
    other.events.back().kind = OpKind::broadcast;
    CHECK(refused(other) == "meas.json: /traceEvents: not a trace of the same plan as sim.json: round 1 "
                            "worker 1 op 2 is allreduce there and broadcast here");
  }
  SUBCASE("no round in common") {
    for (RoundSpan& s : other.rounds) s.round += 10;
    for (TraceEvent& e : other.events) e.round += 10;
    CHECK(refused(other) == "meas.json: /traceEvents: not a trace of the same plan as sim.json: no round is "
                            "in both traces");
  }
}

TEST_CASE("quantiles by nearest rank") {
  CHECK(quantile({}, 0.5) == 0);
  CHECK(quantile({3, 1, 2}, 0.5) == 2);
  CHECK(quantile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9) == 9);
  CHECK(relative_error(1.5, 1.0) == doctest::Approx(0.5));
  CHECK(relative_error(0, 0) == 0);
}

TEST_CASE("a measured round that took no time is refused, not an infinite error") {
  const Trace sim = two_workers(2, 1.0, 0.5, "simulated");
  const Trace zero = two_workers(2, 0.0, 0.0);
  CHECK(input_error([&] { compare_traces(sim, "sim.json", zero, "m.json"); }) ==
        "m.json: /otherData/rounds: round 0 took 0 s: a measured round must take time");
  CHECK(comparison_text(compare_traces(sim, "sim.json", two_workers(2, 1.0, 0.5), "m.json")).find("inf") ==
        std::string::npos);
}

TEST_CASE("the rounds to simulate for a measured trace stay within the training") {
  Trace measured = two_workers(3, 1.0, 0.5);
  CHECK(rounds_to_simulate(measured, 313, "m.json") == 3);
  measured.rounds.push_back({0, 15624, 100, 101});
  CHECK(input_error([&] { rounds_to_simulate(measured, 313, "m.json"); }) ==
        "m.json: /otherData/rounds: round 15624 is beyond the scenario's training (313 rounds): not a trace of "
        "this scenario");
  measured.rounds.pop_back();
  measured.events.push_back({0, 400, 0, OpKind::compute, 100, 101, 0, 1, {}});
  CHECK(input_error([&] { rounds_to_simulate(measured, 313, "m.json"); }) ==
        "m.json: /traceEvents: round 400 is beyond the scenario's training (313 rounds): not a trace of "
        "this scenario");
}
