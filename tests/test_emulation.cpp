// The emulated cluster: how a cluster file is laid out as namespaces (everywhere), and, where this
// process may make namespaces (root), links that carry what the file says and go down on demand.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "exec/emulation.hpp"
#include "exec/net.hpp"
#include "tests/netns_helpers.hpp"
#include "topology/cluster.hpp"

using namespace resist;
using namespace resist::exec;
using nlohmann::json;
using resist::test::can_make_namespaces;
using resist::test::in_namespace;
using resist::test::namespace_exists;

namespace {

Cluster star(int gpus, const std::string& bandwidth) {
  return parse_cluster({{"shape", "star"}, {"gpu", "CPU-core"}, {"gpus", gpus},
                        {"link", {{"bandwidth", bandwidth}, {"latency", "0s"}}}},
                       "star.json");
}

std::string element(const Emulation& e, std::size_t space) { return e.cluster.elements[e.spaces[space].element].name; }

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

/// Sends `bytes` over TCP from namespace `from` to a listener at `to_ip` in namespace `to`; the
/// seconds from the first byte sent to the last received.
double transfer(const std::string& from, const std::string& to, const std::string& to_ip, std::size_t bytes) {
  std::atomic<bool> listening{false};
  double seconds = 0;
  std::thread server = in_namespace(to, [&] {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = address(to_ip, 29999);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(s, 1) == 0);
    listening = true;
    const int c = ::accept(s, nullptr, nullptr);
    std::vector<char> buffer(1 << 16);
    std::size_t got = 0;
    ssize_t n = 0;
    while (got < bytes && (n = ::read(c, buffer.data(), buffer.size())) > 0) got += static_cast<std::size_t>(n);
    CHECK(got == bytes);
    ::write(c, "k", 1);  // the sender's clock stops at this acknowledgement
    ::close(c);
    ::close(s);
  });
  std::thread client = in_namespace(from, [&] {
    while (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = address(to_ip, 29999);
    REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::vector<char> data(bytes, 'x');
    const auto start = std::chrono::steady_clock::now();
    std::size_t sent = 0;
    while (sent < bytes) {
      const ssize_t n = ::write(s, data.data() + sent, bytes - sent);
      REQUIRE(n > 0);
      sent += static_cast<std::size_t>(n);
    }
    char ack = 0;
    CHECK(::read(s, &ack, 1) == 1);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(s);
  });
  client.join();
  server.join();
  return seconds;
}

/// Whether a TCP connection from namespace `from` to `ip` succeeds within `timeout_ms`.
bool connects(const std::string& from, const std::string& ip, int timeout_ms) {
  bool ok = false;
  in_namespace(from, [&] {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a = address(ip, 29998);
    ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{s, POLLOUT, 0};
    int error = -1;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, timeout_ms) == 1) ::getsockopt(s, SOL_SOCKET, SO_ERROR, &error, &len);
    // Refused counts as reached: the packet got there and back.
    ok = error == 0 || error == ECONNREFUSED;
    ::close(s);
  }).join();
  return ok;
}

}  // namespace

TEST_CASE("a multi-GPU node cluster: the workers' GPUs, their node switches and the network switch") {
  const Cluster c = load_cluster("v100x4-4nodes-10g", ".");
  const Emulation e = plan_emulation(c, 5, "p-");
  // Workers 0-3 on node 0, worker 4 on node 1: nodes 2 and 3 and node 1's other GPUs are cut off.
  REQUIRE(e.spaces.size() == 8);
  REQUIRE(e.links.size() == 7);
  CHECK(e.worker_space.size() == 5);
  CHECK(element(e, e.worker_space[0]) == "node0.gpu0");
  CHECK(element(e, e.worker_space[4]) == "node1.gpu0");
  CHECK(e.master_addr() == "10.213.0.1");
  CHECK(e.spaces[e.worker_space[4]].address == "10.213.0.5");
  int bridges = 0;
  for (const EmulatedSpace& s : e.spaces) {
    CHECK(s.name.rfind("p-", 0) == 0);
    bridges += s.bridge;
    CHECK(s.bridge == s.address.empty());
  }
  CHECK(bridges == 3);  // network, node0.switch, node1.switch
  // The 10 Gb/s NICs are shaped; the 50 GB/s NVLink stand-ins are faster than veth carries.
  CHECK(e.link_named("node0.nic").shaped);
  CHECK_FALSE(e.link_named("node0.gpu0-link").shaped);
  REQUIRE(e.notes.size() == 2);
  CHECK(e.notes[0].find("unshaped") != std::string::npos);
  CHECK(e.notes[1].find("latencies are not emulated") != std::string::npos);
  CHECK_THROWS_WITH(e.link_named("node3.nic"), doctest::Contains("no emulated link \"node3.nic\""));
}

TEST_CASE("the commands: namespaces, veth pairs between them, bridges, addresses, token buckets") {
  const Emulation e = plan_emulation(star(2, "100Mbps"), 2, "q-");
  const auto commands = setup_commands(e);
  const auto has = [&](const std::vector<std::string>& argv) {
    return std::find(commands.begin(), commands.end(), argv) != commands.end();
  };
  CHECK(has({"ip", "netns", "add", "q-0"}));
  CHECK(has({"ip", "-n", "q-0", "link", "add", "br0", "type", "bridge"}));
  CHECK(has({"ip", "link", "add", "l0", "netns", "q-1", "type", "veth", "peer", "name", "l0", "netns", "q-0"}));
  CHECK(has({"ip", "-n", "q-1", "addr", "add", "10.213.0.1/16", "dev", "l0"}));
  CHECK(has({"ip", "-n", "q-0", "link", "set", "l0", "master", "br0"}));
  CHECK(has({"tc", "-n", "q-1", "qdisc", "add", "dev", "l0", "root", "tbf", "rate", "100000000bit", "burst", "50000",
             "latency", "10ms"}));
  CHECK(has({"tc", "-n", "q-0", "qdisc", "add", "dev", "l1", "root", "tbf", "rate", "100000000bit", "burst", "50000",
             "latency", "10ms"}));
  // Segments of a millisecond of the rate (not TSO's 64 KiB), on both ends of a shaped link.
  CHECK(has({"ip", "-n", "q-1", "link", "set", "l0", "gso_max_size", "12500"}));
  CHECK(has({"ip", "-n", "q-0", "link", "set", "l0", "gso_max_size", "12500"}));
  // A namespace exists before anything is put in it.
  const auto at = [&](const std::vector<std::string>& argv) { return std::find(commands.begin(), commands.end(), argv) - commands.begin(); };
  CHECK(at({"ip", "netns", "add", "q-2"}) < at({"ip", "link", "add", "l1", "netns", "q-2", "type", "veth", "peer", "name", "l1", "netns", "q-0"}));
  // Segments of a millisecond, at least a frame, at most 64 KiB; the burst holds two of them at low
  // rates and 4 ms of the rate at high ones.
  CHECK(emulated_segment_bytes(10e6 / 8) == 1500);
  CHECK(emulated_segment_bytes(10e6 / 8, 9000) == 9000);
  CHECK(emulated_segment_bytes(100e6 / 8) == 12500);
  CHECK(emulated_segment_bytes(1e9 / 8) == 65536);
  CHECK(tbf_arguments(10e9 / 8)[4] == "5000000");
  CHECK(tbf_arguments(1e6 / 8)[4] == "3028");
  CHECK(tbf_arguments(1e6 / 8, 9000)[4] == "18028");
  // A TCP transport: shaped so that a full frame takes its wire time, and the MTU set on both ends.
  CHECK(tbf_arguments(100e6 / 8, 1500)[2] == "98439532bit");  // 100 Mbit/s x 1514 / 1538
  CHECK(tbf_arguments(100e6 / 8, 9000)[2] == "99734455bit");  // x 9014 / 9038
  Cluster tcp = star(2, "100Mbps");
  for (ClusterLink& l : tcp.links) l.mtu = 9000;
  const auto framed = setup_commands(plan_emulation(tcp, 2, "t-"));
  const auto set = [&](const std::vector<std::string>& argv) {
    return std::find(framed.begin(), framed.end(), argv) != framed.end();
  };
  CHECK(set({"ip", "-n", "t-1", "link", "set", "l0", "mtu", "9000"}));
  CHECK(set({"ip", "-n", "t-0", "link", "set", "l0", "mtu", "9000"}));
  CHECK(set({"ip", "-n", "t-1", "link", "set", "l0", "gso_max_size", "12500"}));
  CHECK_FALSE(std::any_of(commands.begin(), commands.end(), [](const std::vector<std::string>& argv) {
    return std::find(argv.begin(), argv.end(), "mtu") != argv.end();
  }));
}

TEST_CASE("workers sharing a GPU share its namespace; two GPUs joined directly need no switch") {
  Cluster shared = star(2, "1Gbps");
  shared.worker_gpus = {shared.worker_gpus[0], shared.worker_gpus[0], shared.worker_gpus[1]};
  const Emulation e = plan_emulation(shared, 3, "s-");
  CHECK(e.worker_space[0] == e.worker_space[1]);
  CHECK(e.spaces[e.worker_space[0]].workers == std::vector<int>{0, 1});

  const Cluster pair = parse_cluster({{"shape", "ring"}, {"gpu", "CPU-core"}, {"gpus", 2},
                                      {"link", {{"bandwidth", "1Gbps"}, {"latency", "0s"}}}}, "pair.json");
  const Emulation p = plan_emulation(pair, 2, "r-");
  CHECK(p.spaces.size() == 2);
  CHECK(p.links.size() == 1);
  // One worker alone: one namespace, no link.
  const Emulation one = plan_emulation(star(4, "1Gbps"), 1, "o-");
  CHECK(one.spaces.size() == 1);
  CHECK(one.links.empty());
}

TEST_CASE("clusters that bridges cannot stand for are refused with the reason") {
  const Cluster ring = parse_cluster({{"shape", "ring"}, {"gpu", "CPU-core"}, {"gpus", 3},
                                      {"link", {{"bandwidth", "1Gbps"}, {"latency", "0s"}}}}, "ring.json");
  CHECK_THROWS_WITH(plan_emulation(ring, 3, "x-"), doctest::Contains("its links form a cycle (3 elements, 3 links)"));
  const Cluster chain = parse_cluster(
      {{"shape", "graph"},
       {"elements", {{{"name", "a"}, {"type", "gpu"}, {"gpu", "CPU-core"}}, {{"name", "b"}, {"type", "gpu"}, {"gpu", "CPU-core"}},
                     {{"name", "c"}, {"type", "gpu"}, {"gpu", "CPU-core"}}}},
       {"links", {{{"name", "ab"}, {"between", {"a", "b"}}, {"bandwidth", "1Gbps"}, {"latency", "0s"}},
                  {{"name", "bc"}, {"between", {"b", "c"}}, {"bandwidth", "1Gbps"}, {"latency", "0s"}}}}},
      "chain.json");
  CHECK_THROWS_WITH(plan_emulation(chain, 3, "x-"), doctest::Contains("GPU \"b\" would forward traffic between its links"));
  CHECK_THROWS_WITH(plan_emulation(star(2, "1Gbps"), 3, "x-"), "cluster \"\" places 2 workers, 3 asked");
  CHECK_THROWS_WITH(plan_emulation(star(2, "1Gbps"), 0, "x-"), "expected at least 1 worker, found 0");
  CHECK_THROWS_WITH(plan_emulation(star(300, "1Gbps"), 300, "x-"), doctest::Contains("needs more than 256 namespaces"));
}

TEST_CASE("a failing command is named with what it printed") {
  CHECK_THROWS_WITH(run_command({"ip", "link", "show", "dev", "no-such-device-here"}),
                    doctest::Contains("`ip link show dev no-such-device-here` failed (exit code 1): Device \"no-such-device-here\" does not exist."));
  CHECK_THROWS_WITH(run_command({"no-such-program-resist"}), "`no-such-program-resist` is not installed (Debian package iproute2)");
}

TEST_CASE("a shaped link carries the file's bandwidth, goes down and up, and leaves nothing behind") {
  if (!can_make_namespaces()) return;
  const std::string prefix = namespace_prefix() + "t";
  std::vector<std::string> names;
  {
    EmulatedCluster c(plan_emulation(star(2, "20Mbps"), 2, prefix));
    const Emulation& e = c.layout();
    for (const EmulatedSpace& s : e.spaces) names.push_back(s.name);
    for (const std::string& n : names) CHECK(namespace_exists(n));
    const std::string a = e.spaces[e.worker_space[0]].name, b = e.spaces[e.worker_space[1]].name;
    // 1.5 MB at 20 Mbit/s (2.5 MB/s): 0.6 s; TCP's headers take ~4% of the rate.
    const std::size_t bytes = 1500000;
    const double seconds = transfer(b, a, e.master_addr(), bytes);
    const double rate = static_cast<double>(bytes) / seconds;
    MESSAGE("1.5 MB over the 20 Mbit/s link in " << seconds << " s: " << rate * 8 / 1e6 << " Mbit/s");
    CHECK(rate > 0.75 * 2.5e6);
    CHECK(rate < 1.05 * 2.5e6);
    const std::vector<LinkTraffic> t = c.traffic();
    REQUIRE(t.size() == 2);
    CHECK(t[1].a_to_b >= bytes);  // b's link carried it into the switch...
    CHECK(t[0].b_to_a >= bytes);  // ...and the switch out to a

    CHECK(connects(b, e.master_addr(), 2000));
    // A worker's probe port on host a: answered from b while the link is up, not once it is pulled.
    std::unique_ptr<ProbePort> probe;
    in_namespace(a, [&] { probe = std::make_unique<ProbePort>(e.master_addr()); }).join();
    const auto probe_from_b = [&] {
      std::vector<PeerState> states;
      in_namespace(b, [&] { states = probe_peers({probe->address()}, std::chrono::milliseconds(500)); }).join();
      return states.at(0);
    };
    CHECK(probe_from_b() == PeerState::answers);
    c.set_link(e.cluster.links[e.links[1].link].name, false);
    CHECK_FALSE(connects(b, e.master_addr(), 500));
    CHECK(probe_from_b() == PeerState::unreachable);
    c.set_link(e.cluster.links[e.links[1].link].name, true);
    CHECK(connects(b, e.master_addr(), 5000));
  }
  for (const std::string& n : names) CHECK_FALSE(namespace_exists(n));
}

TEST_CASE("namespaces of an emulation whose process died are removed; live ones are left") {
  if (!can_make_namespaces()) return;
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = fmt::format("rsemu{}-0", dead), live = namespace_prefix() + "live";
  run_command({"ip", "netns", "add", stale});
  run_command({"ip", "netns", "add", live});
  remove_stale_namespaces();
  CHECK_FALSE(namespace_exists(stale));
  CHECK(namespace_exists(live));
  run_command({"ip", "netns", "del", live});
}
