// The simulation child's hand-over to its parent, in a compact binary form (written by hand: the
// records are plain structs copied as they are, between two processes of one program).
#include "sim/engine_result.hpp"

#include <cstring>
#include <stdexcept>

namespace resist::sim {

void CompactRecorder::on_op(const OpCall& call, double start, double end) {
  ops.push_back({call.self, position(call.round), call.op.id, start, end});
}

void CompactRecorder::on_round(const Plan&, const Round& round, WorkerId self, double start, double end) {
  rounds.push_back({self, position(round), 0, start, end});
}

std::uint32_t CompactRecorder::position(const Round& round) const {
  const auto at = &round - plan_.rounds.data();  // the interpreter runs plan.rounds in place
  if (at < 0 || static_cast<std::size_t>(at) >= plan_.rounds.size())
    throw std::logic_error("a round recorded that is not one of the plan's");
  return static_cast<std::uint32_t>(at);
}

namespace {

void append_records(std::string& out, const std::vector<Record>& records) {
  const std::uint64_t n = records.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(records.data()), records.size() * sizeof(Record));
}

[[noreturn]] void cut_short() { throw std::runtime_error("simulation ended without a result"); }

}  // namespace

std::string encode(const EngineResult& r) {
  const std::string summary = r.summary.dump();
  const std::uint64_t n = summary.size();
  std::string out(reinterpret_cast<const char*>(&n), sizeof n);
  out += summary;
  append_records(out, r.ops);
  append_records(out, r.rounds);
  return out;
}

EngineResult decode(const std::string& bytes) {
  std::size_t at = 0;
  const auto take = [&](std::uint64_t n) {
    if (bytes.size() - at < n) cut_short();
    const char* p = bytes.data() + at;
    at += static_cast<std::size_t>(n);
    return p;
  };
  const auto count = [&] {
    std::uint64_t n = 0;
    std::memcpy(&n, take(sizeof n), sizeof n);
    return n;
  };
  const auto records = [&] {
    const std::uint64_t n = count();
    if (n > (bytes.size() - at) / sizeof(Record)) cut_short();
    std::vector<Record> out(static_cast<std::size_t>(n));
    if (n > 0) std::memcpy(out.data(), take(n * sizeof(Record)), static_cast<std::size_t>(n) * sizeof(Record));
    return out;
  };
  EngineResult r;
  const std::uint64_t n = count();
  const char* text = take(n);
  r.summary = nlohmann::json::parse(text, text + n, nullptr, false);
  if (r.summary.is_discarded() || !r.summary.is_object()) cut_short();
  if (r.summary.contains("error")) return r;
  r.ops = records();
  r.rounds = records();
  if (at != bytes.size()) cut_short();
  return r;
}

}  // namespace resist::sim
