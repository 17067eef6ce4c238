// Running a communicator engine with several ranks in threads of one test process.
#pragma once

#include <barrier>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include "exec/communicator.hpp"

namespace resist::test {

using MakeCommunicator = std::function<std::unique_ptr<exec::Communicator>(
    const c10::intrusive_ptr<c10d::Store>&, int rank, int ranks)>;

/// Runs `body` on every rank at once, each with its own communicator from `make`, all meeting in
/// one HashStore; returns each rank's failure message ("" when it passed).
inline std::vector<std::string> on_ranks(int ranks, const MakeCommunicator& make,
                                         const std::function<void(exec::Communicator&)>& body) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  std::vector<std::string> failures(static_cast<std::size_t>(ranks));
  // No rank closes its connections while others still talk (Gloo reports a peer that went away).
  std::barrier done(ranks);
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      std::unique_ptr<exec::Communicator> comm;
      try {
        comm = make(store, r, ranks);
        body(*comm);
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(r)] = e.what();
      }
      done.arrive_and_wait();
    });
  for (auto& t : threads) t.join();
  return failures;
}

/// Runs `body` as the only rank of a Gloo job on loopback (what a one-worker backend needs to
/// talk to); returns its failure message ("" when it passed).
inline std::string on_one_gloo_rank(const std::function<void(exec::Communicator&)>& body) {
  const MakeCommunicator make = [](const c10::intrusive_ptr<c10d::Store>& store, int rank, int ranks) {
    return exec::make_gloo_communicator(store, rank, ranks, "127.0.0.1", exec::kDefaultOpTimeout);
  };
  return on_ranks(1, make, body).front();
}

}  // namespace resist::test
