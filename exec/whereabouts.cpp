#include "exec/whereabouts.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace resist::exec {

namespace {

constexpr std::array<std::pair<Position::Doing, std::string_view>, 6> kDoing{{
    {Position::Doing::setting_up, "setting_up"},
    {Position::Doing::computing, "computing"},
    {Position::Doing::waiting, "waiting"},
    {Position::Doing::between_ops, "between_ops"},
    {Position::Doing::round_done, "round_done"},
    {Position::Doing::finished, "finished"},
}};

std::string_view name_of(Position::Doing d) {
  for (const auto& [doing, name] : kDoing)
    if (doing == d) return name;
  return "?";
}

/// "all-reduce", "reduce", "broadcast".
std::string_view collective_name(OpKind kind) {
  return kind == OpKind::allreduce ? "all-reduce" : to_string(kind);
}

/// "worker 1", "workers 0, 2-5".
std::string workers_text(const std::vector<int>& ranks) {
  std::string out;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") +
           (j == i ? fmt::format("{}", ranks[i])
                   : fmt::format("{}{}{}", ranks[i], j == i + 1 ? ", " : "-", ranks[j]));
    i = j + 1;
  }
  return (ranks.size() == 1 ? "worker " : "workers ") + out;
}

/// Orders progress through the plan: a round in progress, then that round finished.
std::pair<std::int64_t, int> progress_of(const Position& p) {
  switch (p.doing) {
    case Position::Doing::setting_up: return {-1, 1};
    case Position::Doing::round_done: return {static_cast<std::int64_t>(p.round), 1};
    case Position::Doing::finished: return {static_cast<std::int64_t>(p.round) + 1, 1};
    default: return {static_cast<std::int64_t>(p.round), 0};
  }
}

}  // namespace

nlohmann::json to_json(const Position& p) {
  return {{"doing", name_of(p.doing)}, {"round", p.round},   {"op", p.op},           {"kind", to_string(p.kind)},
          {"peer", p.peer},            {"sends", p.sends},  {"for_s", p.seconds}};
}

Position position_from_json(const nlohmann::json& j) {
  try {
    Position p;
    const std::string doing = j.at("doing").get<std::string>();
    const auto found = std::find_if(kDoing.begin(), kDoing.end(), [&](const auto& d) { return d.second == doing; });
    if (found == kDoing.end()) throw std::runtime_error(fmt::format("\"doing\": unknown \"{}\"", doing));
    p.doing = found->first;
    p.round = j.at("round").get<std::uint64_t>();
    p.op = j.at("op").get<OpId>();
    const std::optional<OpKind> kind = parse_op_kind(j.at("kind").get<std::string>());
    if (!kind) throw std::runtime_error(fmt::format("\"kind\": unknown {}", j.at("kind").dump()));
    p.kind = *kind;
    p.peer = j.at("peer").get<WorkerId>();
    p.sends = j.at("sends").get<bool>();
    p.seconds = j.at("for_s").get<double>();
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("not a worker's position: {}", e.what()));
  }
}

std::string describe(const Position& p) {
  const std::uint64_t round = p.round + 1;  // as the progress line counts
  const std::string during = fmt::format("for {:.1f} s", p.seconds);
  switch (p.doing) {
    case Position::Doing::setting_up: return fmt::format("setting up, not yet training ({})", during);
    case Position::Doing::computing: return fmt::format("computing in round {} (op {}, {})", round, p.op, during);
    case Position::Doing::waiting:
      if (p.kind == OpKind::send)
        return p.sends ? fmt::format("waiting in round {} to send to worker {} (op {}, {})", round, p.peer, p.op, during)
                       : fmt::format("waiting in round {} for a transfer from worker {} (op {}, {})", round, p.peer, p.op, during);
      if (p.kind == OpKind::compute) return fmt::format("computing in round {} (op {}, {})", round, p.op, during);
      return fmt::format("waiting in round {}'s {} (op {}, {})", round, collective_name(p.kind), p.op, during);
    case Position::Doing::between_ops:
      return fmt::format("in round {}, past op {} ({})", round, p.op, during);
    case Position::Doing::round_done:
      return fmt::format("done with round {}, round {} not begun ({})", round, round + 1, during);
    case Position::Doing::finished:
      return fmt::format("done training, waiting for the others at the end ({})", during);
  }
  return "?";
}

std::string describe_whereabouts(const std::vector<std::optional<Position>>& positions) {
  // Grouped by what they do (the time aside: the longest is shown), least progress first.
  using Key = std::tuple<int, std::uint64_t, OpId, int, WorkerId, bool>;
  struct Group {
    std::vector<int> ranks;
    Position position;
  };
  std::map<Key, Group> same;
  std::vector<int> silent;
  for (std::size_t r = 0; r < positions.size(); ++r) {
    const int rank = static_cast<int>(r);
    if (!positions[r]) {
      silent.push_back(rank);
      continue;
    }
    const Position& p = *positions[r];
    const Key key{static_cast<int>(p.doing), p.round, p.op, static_cast<int>(p.kind), p.peer, p.sends};
    Group& g = same.try_emplace(key, Group{{}, p}).first->second;
    g.ranks.push_back(rank);
    g.position.seconds = std::max(g.position.seconds, p.seconds);
  }
  std::vector<Group> groups;
  for (auto& [key, g] : same) groups.push_back(std::move(g));
  std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::pair(progress_of(a.position), a.ranks.front()) < std::pair(progress_of(b.position), b.ranks.front());
  });
  std::vector<std::string> parts;
  for (const Group& g : groups) parts.push_back(fmt::format("{} {}", workers_text(g.ranks), describe(g.position)));
  if (!silent.empty()) parts.push_back(fmt::format("{} did not say", workers_text(silent)));
  std::string out = fmt::format("where the workers are: {}", fmt::join(parts, "; "));
  if (groups.empty()) return out;

  // Who holds the others up: those behind in the plan; else, all as far, those in no transfer
  // while the others wait in one.
  const auto least = progress_of(groups.front().position);
  const auto most = progress_of(groups.back().position);
  std::vector<int> behind, outside;
  bool someone_waits = false;
  for (const Group& g : groups) {
    if (progress_of(g.position) == least) behind.insert(behind.end(), g.ranks.begin(), g.ranks.end());
    const bool waits = g.position.doing == Position::Doing::waiting && g.position.kind != OpKind::compute;
    someone_waits = someone_waits || waits;
    if (!waits) outside.insert(outside.end(), g.ranks.begin(), g.ranks.end());
  }
  std::sort(behind.begin(), behind.end());
  std::sort(outside.begin(), outside.end());
  const auto verb = [](const std::vector<int>& ranks) { return ranks.size() == 1 ? "is" : "are"; };
  if (least != most) return out + fmt::format(": {} {} behind the others", workers_text(behind), verb(behind));
  if (someone_waits && !outside.empty() && silent.empty())
    return out + fmt::format(": {} {} in no transfer while the others wait in one", workers_text(outside), verb(outside));
  return out;
}

Whereabouts::Whereabouts(std::function<double()> clock) : clock_(std::move(clock)), since_(clock_()) {}

void Whereabouts::set(Position p) {
  const double now = clock_();
  std::lock_guard lock(mutex_);
  position_ = p;
  since_ = now;
}

void Whereabouts::on_start(const OpCall& call) {
  Position p;
  p.doing = call.op.is_comm() ? Position::Doing::waiting : Position::Doing::computing;
  p.round = call.round.index;
  p.op = call.op.id;
  p.kind = call.op.kind;
  if (call.op.kind == OpKind::send) {
    p.sends = call.self == call.op.root;
    p.peer = p.sends ? (call.op.group[0] == call.op.root ? call.op.group[1] : call.op.group[0]) : call.op.root;
  }
  set(p);
}

void Whereabouts::on_wait(const OpCall& call) { on_start(call); }

void Whereabouts::on_op(const OpCall& call, double, double) {
  Position p;
  p.doing = Position::Doing::between_ops;
  p.round = call.round.index;
  p.op = call.op.id;
  p.kind = call.op.kind;
  set(p);
}

void Whereabouts::on_round(const Plan& plan, const Round& round, WorkerId, double, double) {
  Position p;
  p.round = round.index;
  p.doing = !plan.rounds.empty() && round.index == plan.rounds.back().index ? Position::Doing::finished
                                                                            : Position::Doing::round_done;
  set(p);
}

Position Whereabouts::now() const {
  const double now = clock_();
  std::lock_guard lock(mutex_);
  Position p = position_;
  p.seconds = std::max(0.0, now - since_);
  return p;
}

}  // namespace resist::exec
