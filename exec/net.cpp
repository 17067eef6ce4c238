// Small networking helpers for launching jobs.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "exec/net.hpp"
#include "input/input_error.hpp"

namespace resist::exec {

int free_loopback_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  ::close(s);
  return ntohs(a.sin_port);
}

namespace {

/// The integer in environment variable `name`, which must lie in [low, high].
int env_integer(const char* name, int low, int high) {
  const std::string text = std::getenv(name);
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < low || value > high)
    throw InputError("environment", name,
                     fmt::format("expected an integer from {} to {}, found \"{}\"", low, high, text));
  return value;
}

}  // namespace

std::optional<JobPlace> job_from_environment() {
  struct Launcher {
    const char* name;
    const char* rank;
    const char* size;
    const char* local_rank;
  };
  static constexpr std::array<Launcher, 4> kLaunchers{{
      {"torchrun-style", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
      {"Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
      {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"MPICH/PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
  }};
  for (const Launcher& l : kLaunchers) {
    if (!std::getenv(l.rank)) continue;
    if (!std::getenv(l.size))
      throw InputError("environment", l.size, fmt::format("{} is set, so {} must be too", l.rank, l.size));
    JobPlace p;
    p.launcher = l.name;
    p.world = env_integer(l.size, 1, 1 << 20);
    p.rank = env_integer(l.rank, 0, p.world - 1);
    p.local_rank = std::getenv(l.local_rank) ? env_integer(l.local_rank, 0, p.world - 1) : p.rank;
    if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) p.master_addr = addr;
    if (std::getenv("MASTER_PORT")) p.master_port = env_integer("MASTER_PORT", 1, 65535);
    return p;
  }
  return std::nullopt;
}

std::string default_bind_host(const std::string& master_addr) {
  if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0 || master_addr == "::1") return "127.0.0.1";
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "127.0.0.1";
  return name.data();
}

}  // namespace resist::exec
