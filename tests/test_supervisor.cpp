// Supervision of worker processes: all ending well, one failing (the others stopped, the likeliest
// cause named), a stop signal (all stopped), the parent's pid passed on. Real processes (/bin/sh).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "exec/supervisor.hpp"
#include "tests/cli_helpers.hpp"

using namespace resist;
using namespace resist::test;

namespace {

const std::filesystem::path kShell = "/bin/sh";

/// Starts `sh -c script` as the next worker.
void start(exec::Supervisor& s, const std::string& script, const std::vector<std::string>& env = {}) {
  s.start(kShell, {"-c", script}, env);
}

std::string failure_of(exec::Supervisor& s) {
  try {
    s.wait_all();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("workers that all end well: wait_all returns; they got their environment and our pid") {
  const fs::path out = scratch() / "env.txt";
  exec::Supervisor s;
  start(s, "echo \"$RANK $RESIST_PARENT\" > '" + out.string() + "'", {"RANK=7"});
  start(s, "exit 0");
  s.wait_all();
  CHECK(slurp(out) == "7 " + std::to_string(::getpid()) + "\n");
  for (pid_t p : s.pids()) CHECK(p == 0);
}

TEST_CASE("one worker fails: the others are stopped at once and the failure is named") {
  exec::Supervisor s;
  start(s, "exec sleep 30");
  start(s, "exit 3");
  start(s, "exec sleep 30");
  const std::vector<pid_t> pids = s.pids();
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(failure_of(s) == "worker 1 failed (exit code 3); the other workers were stopped");
  CHECK(seconds_since(t0) < 10);  // not the 30 s of the sleepers
  for (pid_t p : pids) CHECK_FALSE(alive(p));
}

TEST_CASE("in a multi-host job a failure names the worker's global rank, not its place here") {
  exec::Supervisor s;  // this machine runs rank 5 of the job only
  s.start(kShell, {"-c", "exit 4"}, {}, 5);
  CHECK(failure_of(s) == "worker 5 failed (exit code 4); the other workers were stopped");
}

TEST_CASE("a crash is named before an error a worker reported because of it") {
  // Worker 0 reports its error (a closed connection, say) once worker 1 runs, and worker 1 crashes
  // 0.1 s later: the crash comes within the half second the others get after the first failure,
  // however long the shells take to start (a busy machine once took longer than that).
  const fs::path running = scratch() / "worker1-running";
  fs::remove(running);
  exec::Supervisor s;
  start(s, "while [ ! -e '" + running.string() + "' ]; do sleep 0.01; done; exit 1");
  start(s, "touch '" + running.string() + "'; sleep 0.1; kill -SEGV $$");
  CHECK(failure_of(s) == "worker 1 died (signal 11); the other workers were stopped");
}

TEST_CASE("a stop signal stops every worker and is handed back as Interrupted") {
  const exec::StopSignals signals;
  exec::Supervisor s;
  start(s, "exec sleep 30");
  start(s, "exec sleep 30");
  const std::vector<pid_t> pids = s.pids();
  std::thread later([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(::getpid(), SIGTERM);
  });
  int signal = 0;
  try {
    s.wait_all();
  } catch (const exec::Interrupted& stop) {
    signal = stop.signal;
  }
  later.join();
  CHECK(signal == SIGTERM);
  for (pid_t p : pids) CHECK_FALSE(alive(p));
}

TEST_CASE("a supervisor that goes away takes its workers with it") {
  std::vector<pid_t> pids;
  {
    exec::Supervisor s;
    start(s, "exec sleep 30");
    pids = s.pids();
  }
  CHECK_FALSE(alive(pids.front()));
}

TEST_CASE("a binary that cannot be started is an error, not a worker") {
  exec::Supervisor s;
  CHECK_THROWS_WITH(s.start("/nonexistent/resist-worker", {}, {}), "cannot start /nonexistent/resist-worker");
}
