// One worker of a real training run. No LibTorch in this header: the launcher includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "plan/scenario.hpp"

namespace resist::exec {

/// Where a worker stands in its job, as torchrun-style launchers say it (RANK, WORLD_SIZE,
/// MASTER_ADDR, MASTER_PORT), plus resist's own settings.
struct WorkerOptions {
  int rank = 0;
  int world = 1;
  int local_rank = 0;       ///< rank among the workers of this machine (picks the GPU)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Monotonic seconds all workers of the job count trace times from; 0: agreed at the first
  /// rendezvous (the moment all workers are there), for workers on different machines.
  double t0 = 0;
  int threads = 1;          ///< intra-op threads per worker
  std::optional<std::uint64_t> rounds;  ///< run only the first N rounds
  int timeout_s = 120;      ///< rendezvous and communication time-out
  std::string checkpoint_dir;  ///< checkpoint after every round here ("" = none); see checkpoint.hpp
  bool resume = false;         ///< continue from checkpoint_dir's last complete round
  bool progress = false;       ///< rank 0 shows progress on standard error
  std::uint64_t eval_every = 0;  ///< rank 0 evaluates the global model every N rounds (0: at the end only)
  std::string backend = "gloo";  ///< communication engine: gloo or nccl
  /// Where the model trains: "auto" (GPU local_rank modulo the GPUs this LibTorch sees, else the
  /// CPU), "cpu", or "cuda" (a GPU, or an error where this LibTorch sees none).
  std::string device = "auto";
  std::string bind_host = "127.0.0.1";  ///< address (or host name) Gloo binds to
  bool gather_reports = false;  ///< worker 0's report also holds the others' (under "peers")
};

/// Trains this worker's part of the scenario's plan over Gloo and returns its report:
/// {"rank", "first_round" (> 0 when resumed), "loss": [per round run], "shared_checksum": [per
/// round run: sum of the shared blocks' parameters], "samples", "seconds", "accuracy" (rank 0),
/// "trace": Chrome trace of this worker}; with gather_reports worker 0's also has "peers": the
/// other workers' reports in rank order, passed through the rendezvous store. Throws on failure.
nlohmann::json run_worker(const Scenario& scenario, const WorkerOptions& options);

/// Monotonic clock in seconds, comparable between processes of one machine.
double monotonic_seconds();

}  // namespace resist::exec
