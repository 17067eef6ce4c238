// Small networking helpers for launching jobs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "exec/net.hpp"
#include "input/input_error.hpp"

namespace resist::exec {

namespace {

/// A close-on-exec TCP socket bound to `a` (port 0: one the kernel picks, written back into `a`),
/// listening when `backlog` > 0, sharing the port with later SO_REUSEADDR binds when `reuse`; -1
/// where any step failed.
int bound_socket(sockaddr_in& a, int backlog, bool reuse) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int on = 1;
  socklen_t len = sizeof a;
  if ((reuse && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || (backlog > 0 && ::listen(fd, backlog) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

}  // namespace

HeldPort::HeldPort() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd_ = bound_socket(a, 0, true);
  if (fd_ < 0) throw std::runtime_error(fmt::format("cannot bind a port on 127.0.0.1: {}", std::strerror(errno)));
  port_ = ntohs(a.sin_port);
}

HeldPort::~HeldPort() { ::close(fd_); }

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
    const char* local_size;  ///< processes on this machine (fewer than the world: several machines)
    const char* nodes;       ///< machines of the job
  };
  static constexpr std::array<Launcher, 4> kLaunchers{{
      {"torchrun-style", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", nullptr},
      {"Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", nullptr, "SLURM_NNODES"},
      {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE", nullptr},
      {"MPICH/PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", nullptr},
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
    p.local_world = p.world;
    if (l.local_size && std::getenv(l.local_size)) {
      p.local_world = env_integer(l.local_size, 1, p.world);
      p.spans_hosts = p.local_world < p.world;
    }
    if (l.nodes && std::getenv(l.nodes)) {
      const int nodes = env_integer(l.nodes, 1, 1 << 20);
      p.spans_hosts = nodes > 1;
      p.local_world = (p.world + nodes - 1) / nodes;
    }
    if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) p.master_addr = addr;
    if (std::getenv("MASTER_PORT")) p.master_port = env_integer("MASTER_PORT", 1, 65535);
    return p;
  }
  return std::nullopt;
}

namespace {

std::string text_of(const in_addr& a) {
  std::array<char, INET_ADDRSTRLEN> out{};
  ::inet_ntop(AF_INET, &a, out.data(), out.size());
  return out.data();
}

bool is_loopback(const in_addr& a) { return (ntohl(a.s_addr) >> 24) == 127; }

/// The IPv4 address of interface `name`; InputError naming the variable when it has none.
std::string interface_address(const std::string& name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) throw std::runtime_error("cannot list this machine's network interfaces");
  std::string found, names;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    names += (names.empty() ? "" : ", ") + std::string(i->ifa_name);
    if (found.empty() && name == i->ifa_name) found = text_of(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr);
  }
  ::freeifaddrs(list);
  if (found.empty())
    throw InputError("environment", "GLOO_SOCKET_IFNAME",
                     fmt::format("no IPv4 address on interface \"{}\" (interfaces with one: {})", name, names));
  return found;
}

}  // namespace

std::string default_bind_host(const std::string& master_addr, bool spans_hosts) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) return interface_address(ifname);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int e = ::getaddrinfo(master_addr.c_str(), nullptr, &hints, &found); e != 0)
    throw InputError("environment", "MASTER_ADDR", fmt::format("cannot resolve \"{}\": {}", master_addr, ::gai_strerror(e)));
  sockaddr_in master = *reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  ::freeaddrinfo(found);
  if (is_loopback(master.sin_addr)) {
    if (spans_hosts)
      throw InputError("environment", "MASTER_ADDR",
                       fmt::format("\"{}\" is {} on this machine, a loopback address, but the job has workers on "
                                   "other machines, which could not reach this one (a host name that /etc/hosts "
                                   "maps to 127.0.1.1, say). Set MASTER_ADDR to an address the other machines "
                                   "reach, or give this machine's address with --bind ADDRESS or its interface "
                                   "with GLOO_SOCKET_IFNAME=NAME", master_addr, text_of(master.sin_addr)));
    return "127.0.0.1";
  }
  // The address of the interface the route to the rendezvous leaves by: a UDP socket's connect()
  // looks the route up and sends nothing.
  master.sin_port = htons(9);
  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  const bool ok = s >= 0 && ::connect(s, reinterpret_cast<const sockaddr*>(&master), sizeof master) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&local), &len) == 0;
  if (s >= 0) ::close(s);
  if (!ok)
    throw InputError("environment", "MASTER_ADDR",
                     fmt::format("no route from this machine to \"{}\" ({})", master_addr, text_of(master.sin_addr)));
  return text_of(local.sin_addr);
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::optional<std::string> omp_wait_policy(int workers, int threads, int cores, const char* current) {
  if (current) return std::nullopt;
  if (static_cast<long>(workers) * threads <= cores) return std::nullopt;
  return "OMP_WAIT_POLICY=PASSIVE";
}

std::optional<std::string> reference_blas_warning(std::string_view maps) {
  if (maps.find("/blas/libblas.so") == std::string_view::npos) return std::nullopt;
  return "BLAS is Debian's reference implementation (libblas.so.3 from .../blas/): fully connected layers "
         "train several times slower; install libopenblas0-openmp (tools/install-deps.sh does)";
}

}  // namespace resist::exec

namespace resist::exec {

ProbePort::ProbePort(const std::string& host, std::function<std::string()> status) : status_(std::move(status)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error(fmt::format("probe port: \"{}\" is not an IPv4 address", host));
  fd_ = bound_socket(a, 64, false);
  if (fd_ < 0) throw std::runtime_error(fmt::format("probe port: cannot listen on {}", host));
  address_ = fmt::format("{}:{}", host, ntohs(a.sin_port));
  if (!status_) return;
  // Accepting never blocks: a connection reset between poll and accept must not keep the thread
  // from seeing the stop.
  stop_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_ < 0 || ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK) != 0) {
    const int error = errno;
    if (stop_ >= 0) ::close(stop_);
    ::close(fd_);
    throw std::runtime_error(fmt::format("probe port: {}", std::strerror(error)));
  }
  server_ = std::thread([this] { serve(); });
}

ProbePort::~ProbePort() {
  if (server_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_, &one, sizeof one);
    server_.join();
    ::close(stop_);
  }
  ::close(fd_);
}

void ProbePort::serve() {
  for (;;) {
    std::array<pollfd, 2> wait{{{fd_, POLLIN, 0}, {stop_, POLLIN, 0}}};
    if (::poll(wait.data(), wait.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (wait[1].revents != 0) return;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      // Out of descriptors or memory: the connection stays queued; try again a little later
      // rather than spin.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::string line;
    try {
      line = status_() + "\n";
    } catch (const std::exception&) {  // nothing to say: the asker reads an empty answer
    }
    // One short line fits the socket's buffer: never blocks, and a peer gone meanwhile (a
    // liveness probe closes at once) is no signal here.
    if (!line.empty()) {
      [[maybe_unused]] const ssize_t sent = ::send(c, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::close(c);
  }
}

namespace {

/// A non-blocking connection attempt to "host:port" (IPv4): its socket (-1 where none was made),
/// and the state where it ended at once.
struct Attempt {
  int fd = -1;
  std::optional<PeerState> ended;
};

Attempt start_connect(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {-1, PeerState::unreachable};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  int port = 0;
  const std::string port_text = address.substr(colon + 1);
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr) != 1 ||
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port).ec != std::errc() || port <= 0 ||
      port > 65535)
    return {-1, PeerState::unreachable};
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return {-1, PeerState::unreachable};
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return {s, PeerState::answers};
  if (errno == EINPROGRESS) return {s, std::nullopt};
  const PeerState state = errno == ECONNREFUSED ? PeerState::not_running : PeerState::unreachable;
  ::close(s);
  return {-1, state};
}

/// Polls every socket in `fds` (`index[k]`: the address socket k stands for) until each is done or
/// `timeout` has passed; `ready(address, fd)` is called whenever poll reports a socket, and says
/// whether that socket is done. Every socket is closed at the end.
void poll_each(std::vector<pollfd>& fds, const std::vector<std::size_t>& index, std::chrono::milliseconds timeout,
               const std::function<bool(std::size_t, int)>& ready) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t open = fds.size();
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0 || !ready(index[k], fds[k].fd)) continue;
      ::close(fds[k].fd);
      fds[k].fd = -1;  // poll skips it
      --open;
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) ::close(p.fd);
}

}  // namespace

std::vector<PeerState> probe_peers(const std::vector<std::string>& addresses, std::chrono::milliseconds timeout) {
  std::vector<PeerState> states(addresses.size(), PeerState::unreachable);
  std::vector<pollfd> waiting;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const Attempt attempt = start_connect(addresses[i]);
    if (attempt.ended) {
      states[i] = *attempt.ended;
      if (attempt.fd >= 0) ::close(attempt.fd);
      continue;
    }
    waiting.push_back({attempt.fd, POLLOUT, 0});
    index.push_back(i);
  }
  poll_each(waiting, index, timeout, [&states](std::size_t i, int fd) {
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    states[i] = error == 0 ? PeerState::answers : error == ECONNREFUSED ? PeerState::not_running : PeerState::unreachable;
    return true;
  });
  return states;
}

std::vector<std::optional<std::string>> ask_peers(const std::vector<std::string>& addresses,
                                                  std::chrono::milliseconds timeout) {
  constexpr std::size_t kLongest = 4096;  // a status line is far shorter; more is not one
  std::vector<std::optional<std::string>> answers(addresses.size());
  std::vector<std::string> read(addresses.size());
  std::vector<pollfd> open;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const Attempt attempt = start_connect(addresses[i]);
    if (attempt.fd < 0) continue;
    open.push_back({attempt.fd, POLLIN, 0});  // readable once the line, or the end, is there
    index.push_back(i);
  }
  poll_each(open, index, timeout, [&](std::size_t i, int fd) {
    std::string& text = read[i];
    std::array<char, 512> buffer;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n > 0) text.append(buffer.data(), static_cast<std::size_t>(n));
    const std::size_t newline = text.find('\n');
    if (n > 0 && newline == std::string::npos && text.size() < kLongest) return false;
    if (newline != std::string::npos) answers[i] = text.substr(0, newline);
    return true;
  });
  return answers;
}

PeerState await_listener(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return PeerState::unreachable;
  const std::string address =
      fmt::format("{}:{}", text_of(reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr), port);
  ::freeaddrinfo(found);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return PeerState::not_running;
    const PeerState state = probe_peers({address}, std::min(left, std::chrono::milliseconds(1000))).front();
    if (state != PeerState::not_running) return state;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string describe_peers(const std::vector<std::string>& addresses, const std::vector<PeerState>& states, int self) {
  std::string out;
  for (std::size_t r = 0; r < states.size() && r < addresses.size(); ++r) {
    if (static_cast<int>(r) == self || states[r] == PeerState::answers) continue;
    const std::string host = addresses[r].substr(0, addresses[r].rfind(':'));
    out += (out.empty() ? "" : "; ") +
           (states[r] == PeerState::not_running
                ? fmt::format("rank {} ({}) is not running: its host refuses", r, host)
                : fmt::format("rank {} ({}) cannot be reached from rank {}'s host", r, host.empty() ? "address unknown" : host, self));
  }
  return out;
}

}  // namespace resist::exec
