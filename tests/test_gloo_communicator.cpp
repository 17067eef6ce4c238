// The Gloo engine with four ranks in threads sharing a HashStore: averages, sub-groups, bit-exact
// moves, and misuse.
#include <chrono>
#include <thread>

#include <ATen/ATen.h>

#include "tests/communicator_helpers.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include <doctest/doctest.h>

using resist::exec::Communicator;

namespace {

constexpr int kRanks = 4;

/// Runs `body` on every rank at once, each with its own communicator; fails on any rank's failure.
void on_ranks(const std::function<void(Communicator&)>& body,
              std::chrono::milliseconds timeout = resist::exec::kDefaultOpTimeout) {
  const auto make = [timeout](const c10::intrusive_ptr<c10d::Store>& store, int rank, int ranks) {
    return resist::exec::make_gloo_communicator(store, rank, ranks, "127.0.0.1", timeout);
  };
  for (const std::string& f : resist::test::on_ranks(kRanks, make, body)) REQUIRE_MESSAGE(f.empty(), f);
}

at::Tensor filled(int rank) { return at::full({5, 3}, static_cast<double>(rank), at::kFloat); }

}  // namespace

TEST_CASE("all-reduce over the world averages") {
  std::vector<float> seen(kRanks);
  on_ranks([&](Communicator& c) {
    at::Tensor t = filled(c.rank());
    c.allreduce_mean(t, {0, 1, 2, 3}, 1);
    CHECK(at::allclose(t, at::full_like(t, 1.5)));
    seen[static_cast<std::size_t>(c.rank())] = t[4][2].item<float>();
  });
  CHECK(seen == std::vector<float>(kRanks, 1.5f));
}

TEST_CASE("bf16 and fp16 tensors are averaged over the world in fp32, and stay in their type") {
  for (const at::ScalarType type : {at::kBFloat16, at::kHalf}) {
    std::vector<float> seen(kRanks);
    on_ranks([&](Communicator& c) {
      // 256 + rank: a bf16 sum of the four would round (bf16 keeps 8 bits), an fp32 one does not.
      at::Tensor t = at::full({5, 3}, 256.0 + c.rank(), at::TensorOptions().dtype(type));
      c.allreduce_mean(t, {0, 1, 2, 3}, 7);
      CHECK((t.scalar_type() == type));
      seen[static_cast<std::size_t>(c.rank())] = t[4][2].item<float>();
    });
    CHECK(seen == std::vector<float>(kRanks, at::full({}, 257.5, at::kFloat).to(type).item<float>()));
  }
}

TEST_CASE("collectives over a sub-group leave the others alone") {
  std::vector<float> after(kRanks);
  on_ranks([&](Communicator& c) {
    at::Tensor t = filled(c.rank());
    if (c.rank() == 1 || c.rank() == 3) c.allreduce_mean(t, {1, 3}, 2);
    after[static_cast<std::size_t>(c.rank())] = t[0][0].item<float>();
  });
  CHECK((after == std::vector<float>{0, 2, 2, 2}));
}

TEST_CASE("reduce averages on the root only") {
  std::vector<float> after(kRanks);
  on_ranks([&](Communicator& c) {
    at::Tensor t = filled(c.rank());
    if (c.rank() != 1) c.reduce_mean(t, {0, 2, 3}, 2, 3);
    after[static_cast<std::size_t>(c.rank())] = t[1][1].item<float>();
  });
  CHECK((after == std::vector<float>{0, 1, 5.0f / 3, 3}));
}

TEST_CASE("a block moved to new holders arrives bit for bit") {
  std::vector<at::Tensor> got(kRanks);
  at::Tensor block = at::randn({64, 32, 3, 3}, at::kFloat);
  on_ranks([&](Communicator& c) {
    at::Tensor t = c.rank() == 3 ? block.clone() : at::zeros_like(block);
    if (c.rank() != 2) c.broadcast(t, {0, 1, 3}, 3, 4);
    if (c.rank() == 0) c.send(t, 2, 5);  // and on to a fourth holder, peer to peer
    if (c.rank() == 2) c.recv(t, 0, 5);
    got[static_cast<std::size_t>(c.rank())] = t;
  });
  for (const at::Tensor& t : got) CHECK(at::equal(t, block));
}

TEST_CASE("operations started together are under way together and complete in any order") {
  // Rank 1 sends the second tensor, and only once it has arrived, the first. Rank 0 started both
  // receives before waiting for either: an engine that ran each operation to its end as it
  // started would wait for the first forever (here: the 5 s time-out).
  std::vector<at::Tensor> got(2);
  on_ranks(
      [&](Communicator& c) {
        if (c.rank() == 0) {
          at::Tensor first = at::zeros({1000}), second = at::zeros({1000});
          resist::exec::Pending a = c.start_recv(first, 1, 11);
          resist::exec::Pending b = c.start_recv(second, 1, 12);
          b.complete();
          a.complete();
          got = {first, second};
        }
        if (c.rank() == 1) {
          at::Tensor first = at::full({1000}, 1.0), second = at::full({1000}, 2.0);
          c.send(second, 0, 12);
          c.send(first, 0, 11);
        }
        // Ranks 2 and 3: a sub-group all-reduce, started, and its transfer waited on another thread.
        if (c.rank() >= 2) {
          at::Tensor t = filled(c.rank());
          resist::exec::Pending p = c.start_allreduce_mean(t, {2, 3}, 13);
          std::thread(p.transfer).join();
          if (p.finish) p.finish();
          CHECK(at::allclose(t, at::full_like(t, 2.5)));
        }
      },
      std::chrono::seconds(5));
  CHECK(at::equal(got[0], at::full({1000}, 1.0)));
  CHECK(at::equal(got[1], at::full({1000}, 2.0)));
}

TEST_CASE("a started world all-reduce and sends to many holders finish in place") {
  // The world all-reduce divides when it finishes; a root's broadcast and reduce post every
  // transfer at once.
  on_ranks([&](Communicator& c) {
    at::Tensor world = filled(c.rank());
    at::Tensor block = c.rank() == 1 ? at::full({4, 4}, 7.0) : at::zeros({4, 4});
    at::Tensor partial = filled(c.rank());
    resist::exec::Pending w = c.start_allreduce_mean(world, {0, 1, 2, 3}, 21);
    resist::exec::Pending b = c.start_broadcast(block, {0, 1, 2, 3}, 1, 22);
    resist::exec::Pending r = c.start_reduce_mean(partial, {0, 1, 2, 3}, 2, 23);
    r.complete();
    b.complete();
    w.complete();
    CHECK(at::allclose(world, at::full_like(world, 1.5)));
    CHECK(at::equal(block, at::full({4, 4}, 7.0)));
    CHECK(at::allclose(partial, at::full_like(partial, c.rank() == 2 ? 1.5 : c.rank())));
  });
}

TEST_CASE("a transfer its peer never makes fails after the time-out, saying which and that it timed out") {
  // Gloo's own timer ends a receive (its exception, not c10d's), in the engine's words all the same;
  // likewise a root's reduce waiting on a member that never sends.
  const auto make = [](const c10::intrusive_ptr<c10d::Store>& store, int rank, int ranks) {
    return resist::exec::make_gloo_communicator(store, rank, ranks, "127.0.0.1", std::chrono::seconds(1));
  };
  const std::vector<std::string> failures = resist::test::on_ranks(kRanks, make, [](Communicator& c) {
    at::Tensor t = at::zeros({100});
    if (c.rank() == 0) c.recv(t, 1, 31);
    if (c.rank() == 2) c.reduce_mean(t, {2, 3}, 2, 32);
  });
  CHECK(failures[0].find("Gloo engine, rank 0: receive from rank 1: ") == 0);
  CHECK(failures[0].find("(waited the time-out, 1 s: a peer died or hangs)") != std::string::npos);
  CHECK(failures[2].find("Gloo engine, rank 2: receive from rank 3: ") == 0);
  CHECK(failures[2].find("(waited the time-out, 1 s: a peer died or hangs)") != std::string::npos);
  CHECK(failures[1].empty());
  CHECK(failures[3].empty());
}

TEST_CASE("misuse is refused with a reason") {
  using resist::exec::check_group;
  CHECK_THROWS_WITH(check_group({0, 2}, 1, 4, -1), "rank 1 is not in the group");
  CHECK_THROWS_WITH(check_group({1, 0}, 1, 4, -1), "group members must ascend, once each");
  CHECK_THROWS_WITH(check_group({1, 4}, 1, 4, -1), "group member 4 is outside the world of 4");
  CHECK_THROWS_WITH(check_group({0, 1}, 1, 4, 3), "root 3 is not in the group");
  CHECK_NOTHROW(check_group({0, 1, 3}, 1, 4, 3));
}
