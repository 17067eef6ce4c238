#include "trace/trace.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "input/scenario.hpp"

namespace resist {
namespace {

using nlohmann::json;

constexpr double kMicro = 1e6;

double to_us(double seconds) { return std::round(seconds * kMicro * 1000.0) / 1000.0; }

[[noreturn]] void bad(const std::string& source, const std::string& at, const std::string& what) {
  throw InputError(source, at, what);
}

/// Reads a trace document field by field, checking each value's type and range, so that what
/// is wrong is named with its place (never a JSON library's own text, never a wrapped number).
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& at, const std::string& what) const { bad(source_, at, what); }

  const json& member(const json& j, const char* key, const std::string& at) const {
    if (!j.is_object() || !j.contains(key)) bad(source_, at, fmt::format("missing required field \"{}\"", key));
    return j.at(key);
  }
  const json& object(const json& j, const std::string& at, const char* what = "an object") const {
    if (!j.is_object()) bad(source_, at, fmt::format("expected {}, found {}", what, describe_json(j)));
    return j;
  }
  std::string string(const json& j, const std::string& at) const {
    if (!j.is_string()) bad(source_, at, fmt::format("expected a string, found {}", describe_json(j)));
    return j.get<std::string>();
  }
  /// A whole number in [0, max].
  std::uint64_t count(const json& j, const std::string& at, std::uint64_t max) const {
    if (!j.is_number_integer()) bad(source_, at, fmt::format("expected an integer, found {}", describe_json(j)));
    if (j.is_number_integer() && !j.is_number_unsigned() && j.get<std::int64_t>() < 0)
      bad(source_, at, fmt::format("expected an integer >= 0, found {}", j.dump()));
    const std::uint64_t v = j.get<std::uint64_t>();
    if (v > max) bad(source_, at, fmt::format("{} is above the limit of {}", v, max));
    return v;
  }
  /// A finite number in [0, max] (`unit` names it in messages).
  double amount(const json& j, const std::string& at, double max, const char* what, const char* unit) const {
    if (!j.is_number()) bad(source_, at, fmt::format("expected a number, found {}", describe_json(j)));
    const double v = j.get<double>();
    if (!(v >= 0)) bad(source_, at, fmt::format("expected {} >= 0 {}, found {}", what, unit, j.dump()));
    if (v > max) bad(source_, at, fmt::format("{} is above the limit of {:g} {}", j.dump(), max, unit));
    return v;
  }

 private:
  const std::string& source_;
};

constexpr double kMaxMicroseconds = 1e15;  // 31 years
constexpr std::uint64_t kMaxWorker = 65535;

TraceEvent event_from(const Reader& r, const json& e, const std::string& at) {
  const json& args = r.object(r.member(e, "args", at), at + "/args");
  TraceEvent ev;
  ev.worker = static_cast<WorkerId>(r.count(r.member(e, "tid", at), at + "/tid", kMaxWorker));
  ev.start = r.amount(r.member(e, "ts", at), at + "/ts", kMaxMicroseconds, "a time", "microseconds") / kMicro;
  ev.end = ev.start + r.amount(r.member(e, "dur", at), at + "/dur", kMaxMicroseconds, "a duration", "microseconds") / kMicro;
  ev.round = r.count(r.member(args, "round", at + "/args"), at + "/args/round", kMaxRounds);
  ev.op = static_cast<OpId>(r.count(r.member(args, "op", at + "/args"), at + "/args/op", std::numeric_limits<OpId>::max()));
  const auto kind = parse_op_kind(r.string(r.member(args, "kind", at + "/args"), at + "/args/kind"));
  if (!kind) r.fail(at + "/args/kind", "expected an operation kind");
  ev.kind = *kind;
  if (args.contains("bytes")) ev.bytes = r.count(args["bytes"], at + "/args/bytes", std::numeric_limits<std::uint64_t>::max());
  if (args.contains("flops")) ev.flops = r.amount(args["flops"], at + "/args/flops", 1e30, "a FLOP count", "FLOPs");
  if (args.contains("blocks")) {
    if (!args["blocks"].is_array()) r.string(args["blocks"], at + "/args/blocks");  // says what it expected
    for (std::size_t i = 0; i < args["blocks"].size(); ++i)
      ev.blocks.push_back(r.string(args["blocks"][i], fmt::format("{}/args/blocks/{}", at, i)));
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

namespace {

TraceMeta meta_from(const Reader& r, const json& other, const std::string& source) {
  if (!other.contains("format") || other["format"] != "resist-trace")
    bad(source, "/otherData/format", "expected \"resist-trace\"");
  if (!other.contains("version") || !other["version"].is_number_integer() || other["version"] != 1)
    bad(source, "/otherData/version",
        fmt::format("expected the integer 1, found {}", other.contains("version") ? describe_json(other["version"]) : "none"));
  TraceMeta m;
  if (other.contains("source")) m.source = r.string(other["source"], "/otherData/source");
  if (other.contains("strategy")) m.strategy = r.string(other["strategy"], "/otherData/strategy");
  if (other.contains("workers")) m.workers = static_cast<int>(r.count(other["workers"], "/otherData/workers", kMaxWorker + 1));
  if (other.contains("arch")) m.arch = r.string(other["arch"], "/otherData/arch");
  if (other.contains("extra") && !other["extra"].is_null()) m.extra = r.object(other["extra"], "/otherData/extra");
  return m;
}

std::vector<RoundSpan> spans_from(const Reader& r, const json& other, const std::string& source) {
  std::vector<RoundSpan> out;
  if (!other.contains("rounds")) return out;
  const json& rounds = other["rounds"];
  if (!rounds.is_array()) bad(source, "/otherData/rounds", fmt::format("expected an array, found {}", describe_json(rounds)));
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    const std::string at = fmt::format("/otherData/rounds/{}", i);
    const json& span = rounds[i];
    if (!span.is_array() || span.size() != 4)
      bad(source, at, fmt::format("expected [worker, round, start, end], found {}", describe_json(span)));
    RoundSpan rs{static_cast<WorkerId>(r.count(span[0], at + "/0", kMaxWorker)), r.count(span[1], at + "/1", kMaxRounds),
                 r.amount(span[2], at + "/2", kMaxMicroseconds / kMicro, "a time", "s"),
                 r.amount(span[3], at + "/3", kMaxMicroseconds / kMicro, "a time", "s")};
    if (rs.end < rs.start) bad(source, at, fmt::format("ends ({:g} s) before it starts ({:g} s)", rs.end, rs.start));
    out.push_back(rs);
  }
  return out;
}

}  // namespace

Trace trace_from_json(const json& doc, const std::string& source) {
  const Reader r(source);
  const std::string top;  // a named "" (GCC 14 warns of a dangling reference for a temporary one)
  const json& other = r.object(r.member(doc, "otherData", top), "/otherData");
  Trace t;
  t.meta = meta_from(r, other, source);
  t.rounds = spans_from(r, other, source);
  const json& events = r.member(doc, "traceEvents", top);
  if (!events.is_array())
    bad(source, "/traceEvents", fmt::format("expected an array of events, found {}", describe_json(events)));
  std::map<std::tuple<std::uint64_t, WorkerId, OpId>, std::size_t> seen;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string at = fmt::format("/traceEvents/{}", i);
    const json& e = r.object(events[i], at, "an event (an object)");
    if (!e.contains("ph") || r.string(e["ph"], at + "/ph") != "X") continue;
    TraceEvent ev = event_from(r, e, at);
    const auto [it, fresh] = seen.emplace(std::make_tuple(ev.round, ev.worker, ev.op), i);
    if (!fresh)
      bad(source, at, fmt::format("round {}, worker {}, op {} is already at /traceEvents/{}", ev.round, ev.worker,
                                  ev.op, it->second));
    t.events.push_back(std::move(ev));
  }
  return t;
}

}  // namespace resist
