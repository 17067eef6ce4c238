#include "trace/trace_stats.hpp"

#include <algorithm>
#include <map>

namespace resist {
namespace {

/// Total length of the union of intervals.
double covered(std::vector<std::pair<double, double>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  double total = 0, start = 0, end = -1;
  bool open = false;
  for (const auto& [s, e] : intervals) {
    if (open && s <= end) {
      end = std::max(end, e);
      continue;
    }
    if (open) total += end - start;
    start = s;
    end = e;
    open = true;
  }
  return open ? total + (end - start) : total;
}

}  // namespace

std::map<std::pair<std::uint64_t, OpId>, double> comm_ready_times(const std::vector<TraceEvent>& events) {
  std::map<std::pair<std::uint64_t, OpId>, double> ready;
  for (const TraceEvent& e : events)
    if (e.kind != OpKind::compute) {
      auto [it, fresh] = ready.emplace(std::pair{e.round, e.op}, e.start);
      if (!fresh) it->second = std::max(it->second, e.start);
    }
  return ready;
}

double effective_duration(const TraceEvent& e,
                          const std::map<std::pair<std::uint64_t, OpId>, double>& ready) {
  if (e.kind == OpKind::compute) return e.end - e.start;
  const auto it = ready.find({e.round, e.op});
  const double from = it == ready.end() ? e.start : std::min(e.end, it->second);
  return e.end - from;
}

std::vector<RoundTiming> round_timings(const std::vector<TraceEvent>& events,
                                       const std::vector<RoundSpan>& spans) {
  std::map<std::uint64_t, RoundTiming> rounds;
  for (const RoundSpan& s : spans) {
    RoundTiming& r = rounds[s.round];
    r.index = s.round;
    r.end = std::max(r.end, s.end);
  }
  // A communication can only move data once every member has started it: a receive posted early
  // waits for its sender, and that wait is not communication.
  const auto ready = comm_ready_times(events);
  std::map<std::pair<std::uint64_t, WorkerId>, std::vector<std::pair<double, double>>> comm;
  for (const TraceEvent& e : events) {
    auto it = rounds.find(e.round);
    if (it == rounds.end()) continue;
    if (e.kind == OpKind::compute)
      it->second.compute_s = std::max(it->second.compute_s, e.end - e.start);
    else
      comm[{e.round, e.worker}].push_back({e.end - effective_duration(e, ready), e.end});
  }
  for (const auto& [key, intervals] : comm) {
    RoundTiming& r = rounds[key.first];
    r.comm_s = std::max(r.comm_s, covered(intervals));
  }
  std::vector<RoundTiming> out;
  double previous_end = 0;
  for (auto& [index, r] : rounds) {
    if (!out.empty()) previous_end = out.back().end;
    else {
      previous_end = r.end;
      for (const RoundSpan& s : spans)
        if (s.round == index) previous_end = std::min(previous_end, s.start);
    }
    r.start = previous_end;
    r.time_s = r.end - r.start;
    r.exposed_comm_s = std::max(0.0, r.time_s - r.compute_s);
    out.push_back(r);
  }
  return out;
}

}  // namespace resist
