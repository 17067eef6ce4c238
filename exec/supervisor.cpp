#include "exec/supervisor.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace resist::exec {
namespace {

volatile std::sig_atomic_t stop_signal = 0;

}  // namespace

StopSignals::StopSignals() {
  stop_signal = 0;
  struct sigaction a {};
  a.sa_handler = [](int s) { stop_signal = s; };
  sigemptyset(&a.sa_mask);
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    ::sigaction(kSignals[i], nullptr, &old_[i]);
    if (old_[i].sa_handler != SIG_IGN) ::sigaction(kSignals[i], &a, nullptr);
  }
}

StopSignals::~StopSignals() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
}

int StopSignals::received() { return stop_signal; }

Supervisor::~Supervisor() { stop_all(); }

void Supervisor::start(const std::filesystem::path& binary, const std::vector<std::string>& args,
                       const std::vector<std::string>& env, int rank) {
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> all_env = env;
  all_env.push_back(fmt::format("RESIST_PARENT={}", ::getpid()));
  for (char** e = environ; *e; ++e) all_env.emplace_back(*e);
  std::vector<char*> envp;
  for (const std::string& e : all_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0)
    throw std::runtime_error("cannot start " + binary.string());
  pids_.push_back(pid);
  ranks_.push_back(rank >= 0 ? rank : static_cast<int>(ranks_.size()));
}

bool Supervisor::Failure::reported() const { return WIFEXITED(status) && WEXITSTATUS(status) == 1; }

std::string Supervisor::Failure::text() const {
  return WIFEXITED(status) ? fmt::format("worker {} failed (exit code {})", rank, WEXITSTATUS(status))
                           : fmt::format("worker {} died (signal {})", rank, WTERMSIG(status));
}

std::size_t Supervisor::reap(std::vector<Failure>& failures) {
  std::size_t ended = 0;
  for (std::size_t r = 0; r < pids_.size(); ++r) {
    int status = 0;
    if (pids_[r] == 0 || ::waitpid(pids_[r], &status, WNOHANG) != pids_[r]) continue;
    pids_[r] = 0;
    ++ended;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failures.push_back({static_cast<std::size_t>(ranks_[r]), status});
  }
  return ended;
}

void Supervisor::stop_all() {
  for (pid_t& p : pids_)
    if (p != 0) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
      p = 0;
    }
}

void Supervisor::fail(std::vector<Failure>& failures) {
  std::size_t left = static_cast<std::size_t>(std::count_if(pids_.begin(), pids_.end(), [](pid_t p) { return p != 0; }));
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (left > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left -= reap(failures);
  }
  stop_all();
  if (stop_signal != 0) throw Interrupted{stop_signal};  // Ctrl-C reached the workers too
  const auto cause = std::find_if(failures.begin(), failures.end(), [](const Failure& f) { return !f.reported(); });
  throw std::runtime_error((cause != failures.end() ? *cause : failures.front()).text() +
                           "; the other workers were stopped");
}

void Supervisor::wait_all() {
  std::size_t left = static_cast<std::size_t>(std::count_if(pids_.begin(), pids_.end(), [](pid_t p) { return p != 0; }));
  std::vector<Failure> failures;
  while (left > 0) {
    if (stop_signal != 0) {
      stop_all();
      throw Interrupted{stop_signal};
    }
    left -= reap(failures);
    if (!failures.empty()) fail(failures);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace resist::exec
