// A job's workers as threads of the test process, over Gloo on loopback (LibTorch tests only).
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "exec/net.hpp"
#include "exec/worker.hpp"

namespace resist::test {

struct ThreadJob {
  std::vector<exec::WorkerReport> reports;  ///< rank order
  std::vector<std::string> errors;          ///< rank order; "" where the worker finished
};

/// Runs all `world` workers of the plan at once, each checkpointing into `checkpoint_dir`.
inline ThreadJob run_worker_threads(const Scenario& s, const Plan& plan, int world, const std::string& checkpoint_dir) {
  ThreadJob job{std::vector<exec::WorkerReport>(static_cast<std::size_t>(world)),
                std::vector<std::string>(static_cast<std::size_t>(world))};
  const exec::HeldPort rendezvous;  // while the workers run
  const int port = rendezvous.port();
  const double t0 = exec::monotonic_seconds();
  std::vector<std::thread> workers;
  for (int rank = 0; rank < world; ++rank)
    workers.emplace_back([&, rank] {
      exec::WorkerOptions o;
      o.rank = rank;
      o.world = world;
      o.master_port = port;
      o.t0 = t0;
      o.timeout_s = 60;
      o.checkpoint_dir = checkpoint_dir;
      try {
        job.reports[static_cast<std::size_t>(rank)] = exec::run_worker(s, plan, o);
      } catch (const std::exception& e) {
        job.errors[static_cast<std::size_t>(rank)] = e.what();
      }
    });
  for (std::thread& t : workers) t.join();
  return job;
}

}  // namespace resist::test
