// Supervision of a job's local worker processes: starting them, reaping them, stopping the
// others when one fails, and stopping all on a stop signal. No LibTorch here.
#pragma once

#include <sys/types.h>

#include <array>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace resist::exec {

/// A stop signal arrived (SIGINT, SIGTERM or SIGHUP) while StopSignals was alive; the workers
/// have been stopped.
struct Interrupted {
  int signal;
};

/// While alive, SIGINT, SIGTERM and SIGHUP (those not ignored: nohup's SIGHUP stays ignored) are
/// recorded instead of killing the process at once, so that a supervisor can stop its workers
/// and clean up first. One at a time.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// The signal received, or 0.
  static int received();

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
};

/// The worker processes of one job on this machine, indexed by rank in start order.
class Supervisor {
 public:
  Supervisor() = default;
  /// Kills (SIGKILL) and reaps the workers still running.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  /// Starts `binary` with `args`, this process's environment plus `env` (NAME=VALUE) and
  /// RESIST_PARENT=<this pid>, so that a worker can tell it was orphaned. Throws when it cannot.
  /// `rank` names the worker in errors (its global rank in a multi-host job); default: the start
  /// order.
  void start(const std::filesystem::path& binary, const std::vector<std::string>& args,
             const std::vector<std::string>& env, int rank = -1);

  /// Waits until every worker has ended. When one fails, the others that fail with it get half a
  /// second to end, all are stopped, and std::runtime_error names the likeliest cause: a worker
  /// that crashed, was killed or exited abnormally before one that reported an error (exit 1,
  /// often the consequence of another's end). Throws Interrupted when StopSignals saw a signal.
  void wait_all();

  /// Process ids of the workers still running (0 for those that ended).
  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  struct Failure {
    std::size_t rank;
    int status;  // from waitpid
    bool reported() const;
    std::string text() const;
  };

  std::size_t reap(std::vector<Failure>& failures);
  void stop_all();
  [[noreturn]] void fail(std::vector<Failure>& failures);

  std::vector<pid_t> pids_;
  std::vector<int> ranks_;
};

}  // namespace resist::exec
