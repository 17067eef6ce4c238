// Traces: the shared schema both ways, and per-round timing.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "input/json_file.hpp"
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

namespace {

/// A valid two-event trace document to break one field at a time.
json good_trace() {
  std::vector<TraceEvent> events{event(0, 0, 0, OpKind::compute, 0, 1.5), event(1, 0, 1, OpKind::compute, 0, 1.25)};
  return trace_to_json({"measured", "resist", 2, "preact_resnet18", {}}, events, {{0, 0, 0, 1.5}, {1, 0, 0, 1.25}});
}

std::string trace_error(const json& doc) {
  return test::input_error([&] { trace_from_json(doc, "t.json"); });
}

/// The index of the first "X" event in a document.
std::size_t first_x(const json& doc) {
  for (std::size_t i = 0; i < doc["traceEvents"].size(); ++i)
    if (doc["traceEvents"][i]["ph"] == "X") return i;
  return 0;
}

}  // namespace

TEST_CASE("a trace's fields must have their types: exit 2 with the place, never a library's text") {
  CHECK(trace_error(good_trace()).empty());
  json doc = good_trace();
  doc["traceEvents"] = true;
  CHECK(trace_error(doc) == "t.json: /traceEvents: expected an array of events, found a boolean (true)");
  doc = good_trace();
  doc["traceEvents"][0] = 5;
  CHECK(trace_error(doc) == "t.json: /traceEvents/0: expected an event (an object), found an integer (5)");
  doc = good_trace();
  doc["otherData"] = 3;
  CHECK(trace_error(doc) == "t.json: /otherData: expected an object, found an integer (3)");
  doc = good_trace();
  const std::size_t x = first_x(doc);
  doc["traceEvents"][x]["ph"] = 7;
  CHECK(trace_error(doc) == fmt::format("t.json: /traceEvents/{}/ph: expected a string, found an integer (7)", x));
  for (const json& version : {json(true), json(1.9), json(4294967297ULL), json("1")}) {
    doc = good_trace();
    doc["otherData"]["version"] = version;
    CHECK(trace_error(doc) == fmt::format("t.json: /otherData/version: expected the integer 1, found {}", describe_json(version)));
  }
}

TEST_CASE("a trace's numbers must make sense: no negative, infinite or wrapped values") {
  const json base = good_trace();
  const std::size_t x = first_x(base);
  const std::string at = fmt::format("t.json: /traceEvents/{}", x);
  json doc = base;
  doc["traceEvents"][x]["dur"] = -5;
  CHECK(trace_error(doc) == at + "/dur: expected a duration >= 0 microseconds, found -5");
  doc = base;
  doc["traceEvents"][x]["ts"] = 1e308;
  CHECK(trace_error(doc) == at + "/ts: 1e+308 is above the limit of 1e+15 microseconds");
  doc = base;
  doc["traceEvents"][x]["args"]["op"] = 4294967296ULL;  // would wrap onto op 0
  CHECK(trace_error(doc) == at + "/args/op: 4294967296 is above the limit of 4294967295");
  doc = base;
  doc["traceEvents"][x]["tid"] = 4294967296ULL;
  CHECK(trace_error(doc) == at + "/tid: 4294967296 is above the limit of 65535");
  doc = base;
  doc["traceEvents"][x]["args"]["round"] = 1e12;
  CHECK(trace_error(doc) == at + "/args/round: expected an integer, found a number (1000000000000.0)");
  doc = base;
  doc["traceEvents"][x]["args"]["round"] = 10000000000ULL;
  CHECK(trace_error(doc) == at + "/args/round: 10000000000 is above the limit of 1000000000");
  doc = base;
  doc["otherData"]["rounds"][0] = {0, 0, 2.0, 1.0};
  CHECK(trace_error(doc) == "t.json: /otherData/rounds/0: ends (1 s) before it starts (2 s)");
}

TEST_CASE("the same operation twice in a trace is refused, not silently overwritten") {
  json doc = good_trace();
  const std::size_t x = first_x(doc);
  doc["traceEvents"].push_back(doc["traceEvents"][x]);
  CHECK(trace_error(doc) == fmt::format("t.json: /traceEvents/{}: round 0, worker 0, op 0 is already at /traceEvents/{}",
                                        doc["traceEvents"].size() - 1, x));
}
