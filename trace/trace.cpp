#include "trace/trace.hpp"

#include <cmath>

#include <fmt/format.h>

#include "input/input_error.hpp"

namespace resist {
namespace {

using nlohmann::json;

constexpr double kMicro = 1e6;

double to_us(double seconds) { return std::round(seconds * kMicro * 1000.0) / 1000.0; }

[[noreturn]] void bad(const std::string& source, const std::string& at, const std::string& what) {
  throw InputError(source, at, what);
}

const json& field(const json& j, const char* key, const std::string& source, const std::string& at) {
  if (!j.is_object() || !j.contains(key))
    bad(source, at, fmt::format("missing required field \"{}\"", key));
  return j.at(key);
}

TraceEvent event_from(const json& e, const std::string& source, const std::string& at) {
  const json& args = field(e, "args", source, at);
  TraceEvent ev;
  try {
    ev.worker = field(e, "tid", source, at).get<WorkerId>();
    ev.start = field(e, "ts", source, at).get<double>() / kMicro;
    ev.end = ev.start + field(e, "dur", source, at).get<double>() / kMicro;
    ev.round = field(args, "round", source, at + "/args").get<std::uint64_t>();
    ev.op = field(args, "op", source, at + "/args").get<OpId>();
    const auto kind = parse_op_kind(field(args, "kind", source, at + "/args").get<std::string>());
    if (!kind) bad(source, at + "/args/kind", "expected an operation kind");
    ev.kind = *kind;
    ev.bytes = args.value("bytes", std::uint64_t{0});
    ev.flops = args.value("flops", 0.0);
    ev.blocks = args.value("blocks", std::vector<std::string>{});
  } catch (const json::exception& x) {
    bad(source, at, fmt::format("malformed event: {}", x.what()));
  }
  return ev;
}

}  // namespace

void TraceRecorder::on_op(const OpCall& call, double start, double end) {
  TraceEvent e;
  e.worker = call.self;
  e.round = call.round.index;
  e.op = call.op.id;
  e.kind = call.op.kind;
  e.start = start;
  e.end = end;
  e.bytes = call.op.bytes;
  e.flops = call.op.flops;
  for (BlockIndex b : call.op.blocks) e.blocks.push_back(call.plan.network.blocks[b].id);
  events.push_back(std::move(e));
}

void TraceRecorder::on_round(const Plan&, const Round& round, WorkerId self, double start,
                             double end) {
  rounds.push_back({self, round.index, start, end});
}

json trace_to_json(const TraceMeta& meta, const std::vector<TraceEvent>& events,
                   const std::vector<RoundSpan>& rounds) {
  json out = json::array();
  for (int w = 0; w < meta.workers; ++w)
    out.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 0}, {"tid", w},
                   {"args", {{"name", fmt::format("worker {}", w)}}}});
  for (const TraceEvent& e : events) {
    json args = {{"round", e.round}, {"op", e.op}, {"kind", to_string(e.kind)}};
    if (e.kind == OpKind::compute) args["flops"] = e.flops;
    else args["bytes"] = e.bytes;
    if (!e.blocks.empty()) args["blocks"] = e.blocks;
    out.push_back({{"name", fmt::format("{} r{} #{}", to_string(e.kind), e.round, e.op)},
                   {"cat", e.kind == OpKind::compute ? "compute" : "comm"},
                   {"ph", "X"}, {"pid", 0}, {"tid", e.worker}, {"ts", to_us(e.start)},
                   {"dur", to_us(e.end - e.start)}, {"args", std::move(args)}});
  }
  json spans = json::array();
  for (const RoundSpan& r : rounds) spans.push_back({r.worker, r.round, r.start, r.end});
  return {{"traceEvents", std::move(out)},
          {"displayTimeUnit", "ms"},
          {"otherData", {{"format", "resist-trace"}, {"version", 1}, {"source", meta.source},
                         {"strategy", meta.strategy}, {"workers", meta.workers},
                         {"arch", meta.arch}, {"rounds", std::move(spans)},
                         {"extra", meta.extra}}}};
}

Trace trace_from_json(const json& doc, const std::string& source) {
  const std::string top;  // a named "" (GCC 14 warns of a dangling reference for a temporary one)
  const json& other = field(doc, "otherData", source, top);
  if (other.value("format", std::string()) != "resist-trace")
    bad(source, "/otherData/format", "expected \"resist-trace\"");
  if (other.value("version", 0) != 1) bad(source, "/otherData/version", "expected version 1");
  Trace t;
  try {
    t.meta.source = other.value("source", std::string());
    t.meta.strategy = other.value("strategy", std::string());
    t.meta.workers = other.value("workers", 0);
    t.meta.arch = other.value("arch", std::string());
    t.meta.extra = other.value("extra", json::object());
    for (const json& r : other.value("rounds", json::array()))
      t.rounds.push_back({r.at(0).get<WorkerId>(), r.at(1).get<std::uint64_t>(),
                          r.at(2).get<double>(), r.at(3).get<double>()});
  } catch (const json::exception& x) {
    bad(source, "/otherData", fmt::format("malformed: {}", x.what()));
  }
  const json& events = field(doc, "traceEvents", source, top);
  for (std::size_t i = 0; i < events.size(); ++i)
    if (events[i].value("ph", std::string()) == "X")
      t.events.push_back(event_from(events[i], source, fmt::format("/traceEvents/{}", i)));
  return t;
}

}  // namespace resist
