// Traces: the shared schema both ways, and per-round timing.
#include <doctest/doctest.h>

#include "trace/trace_stats.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using nlohmann::json;

namespace {

TraceEvent event(WorkerId w, std::uint64_t round, OpId op, OpKind kind, double start, double end) {
  TraceEvent e;
  e.worker = w;
  e.round = round;
  e.op = op;
  e.kind = kind;
  e.start = start;
  e.end = end;
  e.bytes = kind == OpKind::compute ? 0 : 1000;
  e.flops = kind == OpKind::compute ? 1e9 : 0;
  return e;
}

}  // namespace

TEST_CASE("traces survive a JSON round trip in Chrome's format") {
  std::vector<TraceEvent> events{event(0, 0, 0, OpKind::compute, 0, 1.5),
                                 event(1, 0, 1, OpKind::compute, 0, 1.25),
                                 event(0, 0, 2, OpKind::allreduce, 1.5, 1.75)};
  events[2].blocks = {"conv1", "fc"};
  const std::vector<RoundSpan> spans{{0, 0, 0, 1.75}, {1, 0, 0, 1.75}};
  const TraceMeta meta{"simulated", "resist", 2, "preact_resnet18", {{"cluster", "x"}}};
  const json doc = trace_to_json(meta, events, spans);
  CHECK(doc["traceEvents"][0]["ph"] == "M");
  const json& x = doc["traceEvents"][4];
  CHECK(x["ph"] == "X");
  CHECK(x["tid"] == 0);
  CHECK(x["ts"] == 1.5e6);
  CHECK(x["dur"] == 0.25e6);
  CHECK(x["args"]["round"] == 0);
  CHECK(x["args"]["op"] == 2);
  CHECK(x["args"]["bytes"] == 1000);
  const Trace back = trace_from_json(json::parse(doc.dump()), "t.json");
  CHECK(back.meta.strategy == "resist");
  CHECK(back.meta.extra["cluster"] == "x");
  REQUIRE(back.events.size() == 3);
  CHECK(back.events[2].kind == OpKind::allreduce);
  CHECK(back.events[2].blocks == std::vector<std::string>{"conv1", "fc"});
  CHECK(back.events[0].end == doctest::Approx(1.5));
  CHECK(back.rounds.size() == 2);
}

TEST_CASE("traces that are not resist's are refused") {
  CHECK(test::input_error([] { trace_from_json(json::object(), "t.json"); }) ==
        "t.json: missing required field \"otherData\"");
  CHECK(test::input_error([] {
          trace_from_json({{"otherData", {{"format", "other"}}}, {"traceEvents", json::array()}}, "t.json");
        }) == "t.json: /otherData/format: expected \"resist-trace\"");
  const json broken = {{"otherData", {{"format", "resist-trace"}, {"version", 1}}},
                       {"traceEvents", {{{"ph", "X"}, {"tid", 0}, {"ts", 0}, {"dur", 1}}}}};
  CHECK(test::input_error([&] { trace_from_json(broken, "t.json"); }) ==
        "t.json: /traceEvents/0: missing required field \"args\"");
}

TEST_CASE("round timings, worked by hand") {
  // Round 0: worker 0 computes 0-2 s, worker 1 0-1 s; a send from 0 to 1 that worker 1 posted
  // at 1 s but that can only move from 2 s, ending at 2.5 s. Round 1 ends at 4 s.
  std::vector<TraceEvent> events{event(0, 0, 0, OpKind::compute, 0, 2),
                                 event(1, 0, 1, OpKind::compute, 0, 1),
                                 event(0, 0, 2, OpKind::send, 2, 2.5),
                                 event(1, 0, 2, OpKind::send, 1, 2.5),
                                 event(0, 1, 0, OpKind::compute, 2.5, 4),
                                 event(1, 1, 1, OpKind::compute, 2.5, 3)};
  const std::vector<RoundSpan> spans{{0, 0, 0, 2.5}, {1, 0, 0, 2.5}, {0, 1, 2.5, 4}, {1, 1, 2.5, 3}};
  const auto t = round_timings(events, spans);
  REQUIRE(t.size() == 2);
  CHECK(t[0].time_s == doctest::Approx(2.5));
  CHECK(t[0].compute_s == doctest::Approx(2));
  CHECK(t[0].comm_s == doctest::Approx(0.5));  // not the 1.5 s worker 1 waited
  CHECK(t[0].exposed_comm_s == doctest::Approx(0.5));
  CHECK(t[1].start == doctest::Approx(2.5));
  CHECK(t[1].time_s == doctest::Approx(1.5));
  CHECK(t[1].comm_s == 0);
}
