// What `resist run` and a `resist-worker` process tell each other: the worker's options and its
// report, each one struct with one JSON definition (both sides use these functions, so a renamed
// field fails to compile, not at run time) and a version. No LibTorch here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace resist::exec {

/// How one worker runs: where it stands in its job (rank, world, rendezvous: from the launcher's
/// variables), and resist's own settings.
struct WorkerOptions {
  static constexpr int kVersion = 1;

  std::string scenario;           ///< scenario file ("" = the built-in one)
  std::vector<std::string> sets;  ///< --set overrides, in order
  int rank = 0;
  int world = 1;
  int local_rank = 0;             ///< rank among the workers of this machine (picks the GPU)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Monotonic seconds all workers of the job count trace times from; 0: agreed at the first
  /// rendezvous (the moment all workers are there), for workers on different machines.
  double t0 = 0;
  int threads = 1;                ///< intra-op threads per worker
  std::optional<std::uint64_t> rounds;  ///< run only the first N rounds
  int timeout_s = 120;            ///< rendezvous and communication time-out
  std::string checkpoint_dir;     ///< checkpoint after every round here ("" = none); see checkpoint.hpp
  bool resume = false;            ///< continue from checkpoint_dir's last complete round
  bool progress = false;          ///< rank 0 shows progress on standard error
  std::uint64_t eval_every = 0;   ///< rank 0 evaluates the global model every N rounds (0: at the end only)
  std::string backend = "gloo";   ///< communication engine: gloo or nccl
  /// Where the model trains: "auto" (GPU local_rank modulo the GPUs this LibTorch sees, else the
  /// CPU), "cpu", or "cuda" (a GPU, or an error where this LibTorch sees none).
  std::string device = "auto";
  std::string bind_host = "127.0.0.1";  ///< address (or host name) Gloo binds to
  bool gather_reports = false;    ///< worker 0's report also holds the others' (WorkerReport::peers)

  bool operator==(const WorkerOptions&) const = default;
};

nlohmann::json to_json(const WorkerOptions& o);
/// Throws InputError naming `source` and the field when the document is not a WorkerOptions of
/// this version.
WorkerOptions worker_options_from_json(const nlohmann::json& j, const std::string& source);

/// What one worker did, for `resist run` to summarise.
struct WorkerReport {
  static constexpr int kVersion = 1;

  int rank = 0;
  std::uint64_t first_round = 0;  ///< > 0 when resumed
  std::vector<double> loss;       ///< mean training loss per round run
  /// Per round run: sum of the parameters every worker should hold identical (none where the plan averages nothing over all workers).
  std::vector<std::optional<double>> shared_checksum;
  std::uint64_t samples = 0;
  double seconds = 0;          ///< training the rounds (evaluations left out)
  double setup_seconds = 0;    ///< from the process's start to its first round
  double evaluation_seconds = 0;  ///< evaluating the global model (worker 0)
  std::uint64_t rounds_run = 0;
  std::uint64_t total_rounds = 0;
  std::optional<double> accuracy;  ///< worker 0: of the global model after the last round run
  std::vector<std::pair<std::uint64_t, double>> evaluations;  ///< worker 0: (round, accuracy)
  nlohmann::json trace;            ///< this worker's measured trace (trace/trace.hpp's schema)
  std::vector<WorkerReport> peers; ///< with gather_reports, worker 0: the others', rank order

  bool operator==(const WorkerReport&) const = default;
};

nlohmann::json to_json(const WorkerReport& r);
WorkerReport worker_report_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace resist::exec
