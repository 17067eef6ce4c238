#include "plan/member_index.hpp"

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
    rounds_.push_back(std::move(r));
  }
}

std::span<const OpId> MemberIndex::ops(const Round& round, WorkerId worker) const {
  const Round* first = plan_.rounds.data();
  const std::less<const Round*> before;  // a total order, also between pointers into other arrays
  if (before(&round, first) || !before(&round, first + plan_.rounds.size()) || worker < 0 || worker >= plan_.workers)
    throw std::logic_error("MemberIndex: a round or worker of another plan");
  const RoundOps& r = rounds_[static_cast<std::size_t>(&round - first)];
  const auto w = static_cast<std::size_t>(worker);
  return {r.ops.data() + r.start[w], r.ops.data() + r.start[w + 1]};
}

}  // namespace resist
