// A job started by an external launcher: this process's place from the launcher's variables, and
// the address Gloo listens on (the route to MASTER_ADDR, GLOO_SOCKET_IFNAME, loopback refused when
// the job spans machines). Route lookups only: nothing is sent.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <functional>
#include <initializer_list>
#include <vector>
#include <string>

#include <fmt/format.h>

#include "exec/net.hpp"
#include "exec/progress.hpp"
#include "input/input_error.hpp"

using namespace resist;

namespace {

/// Sets the variables for the scope, unsetting every launcher variable first.
struct Environment {
  explicit Environment(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS",
                          "SLURM_LOCALID", "SLURM_NNODES", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                          "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_RANK", "PMI_SIZE",
                          "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "MASTER_ADDR", "MASTER_PORT", "GLOO_SOCKET_IFNAME"})
      ::unsetenv(v);
    for (const auto& [k, v] : vars) ::setenv(k, v, 1);
    set.assign(vars.begin(), vars.end());
  }
  ~Environment() {
    for (const auto& [k, v] : set) ::unsetenv(k);
  }
  std::vector<std::pair<const char*, const char*>> set;
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

/// This machine's first IPv4 address that is not loopback, or "" when it has none.
std::string own_address() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string out;
  for (const ifaddrs* i = list; i && out.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    const in_addr a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
    if ((ntohl(a.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    out = ::inet_ntop(AF_INET, &a, text, sizeof text);
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

TEST_CASE("whether the job spans machines, as each launcher says") {
  {
    Environment e({{"RANK", "1"}, {"WORLD_SIZE", "8"}, {"LOCAL_WORLD_SIZE", "4"}});
    CHECK(exec::job_from_environment()->spans_hosts);
  }
  {
    Environment e({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_WORLD_SIZE", "4"}});
    CHECK_FALSE(exec::job_from_environment()->spans_hosts);
  }
  {
    Environment e({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_NNODES", "2"}});
    CHECK(exec::job_from_environment()->spans_hosts);
  }
  {
    Environment e({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"}});
    CHECK(exec::job_from_environment()->spans_hosts);
  }
  {
    Environment e({{"RANK", "0"}, {"WORLD_SIZE", "2"}});  // not said: one machine assumed
    CHECK_FALSE(exec::job_from_environment()->spans_hosts);
  }
  Environment e({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_WORLD_SIZE", "3"}});
  CHECK(error_of([] { exec::job_from_environment(); }) ==
        "environment: LOCAL_WORLD_SIZE: expected an integer from 1 to 2, found \"3\"");
}

TEST_CASE("the workers on this machine, as each launcher says") {
  {
    Environment e({{"RANK", "1"}, {"WORLD_SIZE", "8"}, {"LOCAL_WORLD_SIZE", "4"}});
    CHECK(exec::job_from_environment()->local_world == 4);
  }
  {
    Environment e({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "5"}, {"SLURM_NNODES", "2"}});
    CHECK(exec::job_from_environment()->local_world == 3);  // 5 tasks on 2 nodes: up to 3 on one
  }
  {
    Environment e({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "6"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
    CHECK(exec::job_from_environment()->local_world == 2);
  }
  Environment e({{"RANK", "0"}, {"WORLD_SIZE", "2"}});  // not said: one machine, all of them
  CHECK(exec::job_from_environment()->local_world == 2);
}

TEST_CASE("workers that would oversubscribe the cores wait for their threads passively") {
  CHECK(exec::omp_wait_policy(2, 2, 2, nullptr) == "OMP_WAIT_POLICY=PASSIVE");
  CHECK(exec::omp_wait_policy(3, 1, 2, nullptr) == "OMP_WAIT_POLICY=PASSIVE");
  CHECK_FALSE(exec::omp_wait_policy(2, 1, 2, nullptr).has_value());   // they fit: spinning is faster
  CHECK_FALSE(exec::omp_wait_policy(4, 4, 16, nullptr).has_value());
  CHECK_FALSE(exec::omp_wait_policy(2, 2, 2, "ACTIVE").has_value());  // the user's choice stands
  CHECK(exec::usable_cores() >= 1);
}

TEST_CASE("the reference BLAS is named, with the package that replaces it") {
  const std::string reference =
      "7f00-7f10 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\n";
  const std::string openblas =
      "7f00-7f10 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3\n";
  REQUIRE(exec::reference_blas_warning(reference).has_value());
  CHECK(exec::reference_blas_warning(reference)->find("libopenblas0-openmp") != std::string::npos);
  CHECK_FALSE(exec::reference_blas_warning(openblas).has_value());
  CHECK_FALSE(exec::reference_blas_warning("").has_value());
}

TEST_CASE("Gloo listens where the route to MASTER_ADDR leaves this machine") {
  Environment e({});
  CHECK(exec::default_bind_host("127.0.0.1") == "127.0.0.1");
  CHECK(exec::default_bind_host("localhost") == "127.0.0.1");
  CHECK(exec::default_bind_host("127.0.1.1") == "127.0.0.1");
  const std::string own = own_address();
  if (own.empty()) {
    MESSAGE("no non-loopback IPv4 address on this machine: the route case is not checked");
  } else {
    CHECK(exec::default_bind_host(own) == own);
    CHECK(exec::default_bind_host(own, true) == own);
  }
  // (an unresolvable name is not tried: its lookup would ask this machine's DNS server)
}

TEST_CASE("a loopback rendezvous in a job across machines is refused with the fix") {
  Environment e({});
  const std::string error = error_of([] { exec::default_bind_host("127.0.1.1", true); });
  CHECK(error.rfind("environment: MASTER_ADDR: \"127.0.1.1\" is 127.0.1.1 on this machine, a loopback address, "
                    "but the job has workers on other machines", 0) == 0);
  CHECK(error.find("--bind ADDRESS") != std::string::npos);
  CHECK(error.find("GLOO_SOCKET_IFNAME=NAME") != std::string::npos);
}

TEST_CASE("GLOO_SOCKET_IFNAME names the interface to listen on") {
  {
    Environment e({{"GLOO_SOCKET_IFNAME", "lo"}});
    CHECK(exec::default_bind_host("10.1.2.3", true) == "127.0.0.1");  // what the user asked for
  }
  Environment e({{"GLOO_SOCKET_IFNAME", "nosuch0"}});
  CHECK(error_of([] { exec::default_bind_host("127.0.0.1"); })
            .rfind("environment: GLOO_SOCKET_IFNAME: no IPv4 address on interface \"nosuch0\" (interfaces with one: lo", 0) == 0);
}

TEST_CASE("a failed job says which peer is gone: probe ports answer while their process lives") {
  using resist::exec::PeerState;
  auto alive = std::make_unique<resist::exec::ProbePort>("127.0.0.1");
  std::string gone;
  {
    const resist::exec::ProbePort closed("127.0.0.1");
    gone = closed.address();
  }  // its process "died": the port refuses from now on
  CHECK(alive->address().rfind("127.0.0.1:", 0) == 0);
  const std::vector<std::string> peers{alive->address(), gone, "", "not-an-address:1"};
  const std::vector<PeerState> states = resist::exec::probe_peers(peers, std::chrono::seconds(2));
  CHECK((states == std::vector<PeerState>{PeerState::answers, PeerState::not_running, PeerState::unreachable,
                                           PeerState::unreachable}));
  CHECK(resist::exec::describe_peers(peers, states, 0) ==
        "rank 1 (127.0.0.1) is not running: its host refuses; rank 2 (address unknown) cannot be reached from "
        "rank 0's host; rank 3 (not-an-address) cannot be reached from rank 0's host");
  CHECK(resist::exec::describe_peers(peers, states, 1).find("rank 1 (") == std::string::npos);  // not itself
  CHECK(resist::exec::describe_peers({peers[0]}, {PeerState::answers}, 1).empty());  // all answer: nothing to say
  CHECK_THROWS_WITH(resist::exec::ProbePort("node7"), "probe port: \"node7\" is not an IPv4 address");
}

namespace {

/// A TCP socket bound to `port` on every address of `family` (listening when `listen`), SO_REUSEADDR when `reuse`;
/// -1 with errno where binding failed.
int bind_to(int family, int port, bool reuse, bool listen) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const int on = 1;
  if (reuse) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int bound = -1;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    a.sin6_addr = in6addr_any;
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (bound != 0 || (listen && ::listen(fd, 8) != 0)) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("a held rendezvous port refuses, no other socket takes it, and worker 0's store may listen there") {
  using resist::exec::PeerState;
  const std::string address = [] {
    const resist::exec::HeldPort held;
    const std::string a = fmt::format("127.0.0.1:{}", held.port());
    // Refused while held, and nobody else may bind the port, on any address...
    CHECK(resist::exec::probe_peers({a}, std::chrono::seconds(2)) == std::vector{PeerState::not_running});
    errno = 0;
    CHECK(bind_to(AF_INET, held.port(), false, false) == -1);
    CHECK(errno == EADDRINUSE);
    CHECK(bind_to(AF_INET6, held.port(), false, false) == -1);
    // ...but a store binding with SO_REUSEADDR, as c10d's TCPStore does (on [::], or 0.0.0.0 where
    // IPv6 is off), listens there, and is reached through it.
    int store = bind_to(AF_INET6, held.port(), true, true);
    if (store < 0) store = bind_to(AF_INET, held.port(), true, true);
    REQUIRE(store >= 0);
    CHECK(resist::exec::probe_peers({a}, std::chrono::seconds(2)) == std::vector{PeerState::answers});
    ::close(store);
    return a;
  }();
  CHECK(resist::exec::probe_peers({address}, std::chrono::seconds(2)) == std::vector{PeerState::not_running});
  // The hold does not outlive its object in a process started meanwhile (close-on-exec): the port is
  // free again, while that process still runs.
  int port = 0;
  {
    const resist::exec::HeldPort held;
    port = held.port();
    REQUIRE(std::system("sleep 2 >/dev/null 2>&1 </dev/null &") == 0);
  }
  const int after = bind_to(AF_INET, port, false, false);
  CHECK(after >= 0);
  if (after >= 0) ::close(after);
}

TEST_CASE("a worker waits for worker 0's store to listen, trying often, and gives up where it cannot") {
  using resist::exec::PeerState;
  const resist::exec::HeldPort held;
  const int port = held.port();
  // Worker 0's store begins to listen 300 ms from now.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener, 8) == 0);
  });
  auto start = std::chrono::steady_clock::now();
  const PeerState state = resist::exec::await_listener("localhost", port, std::chrono::seconds(20));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  later.join();
  CHECK(state == PeerState::answers);
  CHECK(waited >= 0.25);  // it waited for the listener...
  CHECK(waited < 10);     // ...not for the time-out (c10d's client tries again after a whole second)
  ::close(listener);
  // Refused all along (a port bound here and never listened on): the time-out, then not_running.
  const resist::exec::HeldPort refused;
  start = std::chrono::steady_clock::now();
  CHECK(resist::exec::await_listener("127.0.0.1", refused.port(), std::chrono::milliseconds(200)) ==
        PeerState::not_running);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
  // A name that does not resolve: at once, for the store's client to say why.
  CHECK(resist::exec::await_listener("no-such-host.invalid", port, std::chrono::seconds(20)) == PeerState::unreachable);
}

TEST_CASE("a process's age counts from its start") {
  const double before = resist::exec::seconds_since_launch();
  CHECK(before > 0);
  CHECK(before < 3600);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double after = resist::exec::seconds_since_launch();
  CHECK(after >= before + 0.04);
  CHECK(after < before + 5);
}
