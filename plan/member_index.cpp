#include "plan/member_index.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

namespace resist {

MemberIndex::MemberIndex(const Plan& plan) : plan_(plan) {
  const auto workers = static_cast<std::size_t>(plan.workers);
  rounds_.reserve(plan.rounds.size());
  for (const Round& round : plan.rounds) {
    RoundOps r;
    r.start.assign(workers + 1, 0);
    for (const Op& op : round.ops)  // counting sort by worker; ops stay in id order within each
      for (WorkerId w : op.group) ++r.start[static_cast<std::size_t>(w) + 1];
    for (std::size_t w = 0; w < workers; ++w) r.start[w + 1] += r.start[w];
    r.ops.resize(r.start[workers]);
    std::vector<std::uint64_t> next(r.start.begin(), r.start.end() - 1);
    for (const Op& op : round.ops)
      for (WorkerId w : op.group) r.ops[next[static_cast<std::size_t>(w)]++] = op.id;
    r.deps_sorted.reserve(round.ops.size());
    for (const Op& op : round.ops)
      r.deps_sorted.push_back(std::adjacent_find(op.deps.begin(), op.deps.end(), std::greater_equal<OpId>()) ==
                              op.deps.end());
    rounds_.push_back(std::move(r));
  }
}

const MemberIndex::RoundOps& MemberIndex::at(const Round& round) const {
  const Round* first = plan_.rounds.data();
  const std::less<const Round*> before;  // a total order, also between pointers into other arrays
  if (before(&round, first) || !before(&round, first + plan_.rounds.size()))
    throw std::logic_error("MemberIndex: a round of another plan");
  return rounds_[static_cast<std::size_t>(&round - first)];
}

bool MemberIndex::deps_sorted(const Round& round, OpId id) const {
  const RoundOps& r = at(round);
  if (id >= r.deps_sorted.size()) throw std::logic_error("MemberIndex: an op of another round");
  return r.deps_sorted[id];
}

std::span<const OpId> MemberIndex::ops(const Round& round, WorkerId worker) const {
  if (worker < 0 || worker >= plan_.workers) throw std::logic_error("MemberIndex: a worker of another plan");
  const RoundOps& r = at(round);
  const auto w = static_cast<std::size_t>(worker);
  return {r.ops.data() + r.start[w], r.ops.data() + r.start[w + 1]};
}

}  // namespace resist
