// The NCCL engine on this machine's GPUs, one rank per GPU (up to four) in threads sharing a
// HashStore: averages, sub-groups, root-only reduce, bit-exact moves, bounded waits. Skipped (exit 77) without a
// GPU; on a machine without one, `resist run --backend nccl` must fail clearly (test_exec_run).
#define DOCTEST_CONFIG_IMPLEMENT
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <ATen/ATen.h>

#include "tests/communicator_helpers.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include <doctest/doctest.h>

using resist::exec::Communicator;

namespace {

int gpus() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

int ranks() { return std::min(gpus(), 4); }

void on_ranks(const std::function<void(Communicator&)>& body) {
  const auto make = [](const c10::intrusive_ptr<c10d::Store>& store, int rank, int n) {
    return resist::exec::make_nccl_communicator(store, rank, n, rank);
  };
  for (const std::string& f : resist::test::on_ranks(ranks(), make, body)) REQUIRE_MESSAGE(f.empty(), f);
}

std::vector<int> world() {
  std::vector<int> all(static_cast<std::size_t>(ranks()));
  for (int r = 0; r < ranks(); ++r) all[static_cast<std::size_t>(r)] = r;
  return all;
}

at::Tensor filled(int rank) { return at::full({1000, 3}, static_cast<double>(rank), at::kFloat); }

}  // namespace

TEST_CASE("all-reduce over the world averages, host tensors staged through the GPU") {
  const int n = ranks();
  std::vector<float> seen(static_cast<std::size_t>(n));
  on_ranks([&](Communicator& c) {
    at::Tensor t = filled(c.rank());
    c.allreduce_mean(t, world(), 1);
    seen[static_cast<std::size_t>(c.rank())] = t[999][2].item<float>();
    CHECK(at::allclose(t, at::full_like(t, (n - 1) / 2.0)));
  });
  CHECK(seen == std::vector<float>(static_cast<std::size_t>(n), static_cast<float>((n - 1) / 2.0)));
}

TEST_CASE("reduce averages on the root only; sub-groups get their own communicator") {
  const int n = ranks();
  std::vector<float> after(static_cast<std::size_t>(n));
  const std::vector<int> group = n == 1 ? std::vector<int>{0} : std::vector<int>{0, n - 1};
  on_ranks([&](Communicator& c) {
    at::Tensor t = filled(c.rank());
    if (std::count(group.begin(), group.end(), c.rank())) c.reduce_mean(t, group, group.back(), 2);
    after[static_cast<std::size_t>(c.rank())] = t[0][0].item<float>();
  });
  for (int r = 0; r < n; ++r) {
    const float expected = r == group.back() ? static_cast<float>(group.front() + group.back()) / static_cast<float>(group.size())
                                             : static_cast<float>(r);
    CHECK(after[static_cast<std::size_t>(r)] == doctest::Approx(expected));
  }
}

TEST_CASE("a block broadcast and sent on arrives bit for bit") {
  const int n = ranks();
  const at::Tensor block = at::randn({64, 32, 3, 3}, at::kFloat);
  std::vector<at::Tensor> got(static_cast<std::size_t>(n));
  on_ranks([&](Communicator& c) {
    at::Tensor t = c.rank() == 0 ? block.clone() : at::zeros_like(block);
    c.broadcast(t, world(), 0, 3);
    if (n >= 2 && c.rank() == 0) c.send(t, n - 1, 4);
    if (n >= 2 && c.rank() == n - 1) {
      t.zero_();
      c.recv(t, 0, 4);
    }
    got[static_cast<std::size_t>(c.rank())] = t;
  });
  for (const at::Tensor& t : got) CHECK(at::equal(t, block));
}

TEST_CASE("unsupported tensor types are refused") {
  on_ranks([&](Communicator& c) {
    at::Tensor t = at::zeros({4}, at::kBool);
    CHECK_THROWS_WITH(c.allreduce_mean(t, world(), 5), doctest::Contains("tensors of type Bool are not supported"));
  });
}

TEST_CASE("a peer that never joins stops this rank after the time-out, not for ever") {
  // Rank 0 of a two-rank world whose rank 1 never comes: creating the communicator is bounded.
  auto store = c10::make_intrusive<c10d::HashStore>();
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(resist::exec::make_nccl_communicator(store, 0, 2, 0, std::chrono::seconds(2)),
                    doctest::Contains("ncclCommInitRank (world) did not finish within 2 s"));
  MESSAGE("gave up after " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");
}

int main(int argc, char** argv) {
  if (gpus() == 0) {
    std::puts("no CUDA device: the NCCL engine's tests are skipped");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
