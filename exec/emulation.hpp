// A cluster file made real on one machine: one network namespace per GPU host and per switch,
// veth pairs for the links, shaped with tc's token bucket (tbf) to the file's bandwidths, Linux
// bridges for the switches. Workers started in the hosts' namespaces talk over these links only.
// No LibTorch here; making namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "topology/cluster.hpp"

namespace resist::exec {

/// A namespace of the emulated cluster: the host of a GPU (its workers run there), or a switch.
struct EmulatedSpace {
  std::string name;         ///< the network namespace's name
  std::size_t element = 0;  ///< the cluster element it stands for
  bool bridge = false;      ///< a switch: its links' ends are ports of one bridge
  std::string address;      ///< a host's IPv4 address (10.213.0.0/16); empty for a switch
  std::vector<int> workers; ///< ranks placed on this GPU, ascending
};

/// A cluster link as a veth pair; each end's egress shaped to the link's bandwidth.
struct EmulatedLink {
  std::size_t link = 0;  ///< the cluster link it stands for
  std::size_t a = 0;     ///< space indices of its ends
  std::size_t b = 0;
  std::string device;    ///< the interface name at both ends ("l3")
  bool shaped = false;   ///< false: faster than a veth pair carries; left as fast as it goes
};

/// Links above this rate are not shaped: a veth pair on one machine does not carry more.
inline constexpr double kMaxShapedBandwidth = 40e9 / 8;  // bytes per second
/// Largest emulation: namespaces in all (each host runs at least one worker process).
inline constexpr std::size_t kMaxEmulatedSpaces = 256;

/// How a cluster's first `workers` workers are laid out as namespaces.
struct Emulation {
  Cluster cluster;
  std::vector<EmulatedSpace> spaces;
  std::vector<EmulatedLink> links;
  std::vector<std::size_t> worker_space;  ///< rank -> space index
  std::vector<std::string> notes;         ///< what the emulation does not reproduce

  /// The address of worker 0's host (MASTER_ADDR).
  const std::string& master_addr() const { return spaces[worker_space.at(0)].address; }
  /// The space index of a cluster link's end, by the link's name; throws std::invalid_argument.
  const EmulatedLink& link_named(const std::string& name) const;
};

/// Lays out the part of `cluster` its first `workers` workers use (the links on paths between
/// their GPUs). Namespace names start with `prefix`. Throws std::invalid_argument saying why a
/// cluster cannot be emulated: links forming a cycle (bridges need a tree), a GPU that would
/// forward others' traffic, more workers than the cluster places, more than kMaxEmulatedSpaces
/// namespaces.
Emulation plan_emulation(const Cluster& cluster, int workers, const std::string& prefix);

/// The commands (argv) that build the emulation, in order: namespaces, veth pairs, bridges,
/// addresses, on shaped links the largest segment the stack may hand the veth
/// (emulated_segment_bytes, as gso_max_size) and token-bucket shaping, the MTU of links with a TCP
/// transport.
std::vector<std::vector<std::string>> setup_commands(const Emulation& e);

/// The largest segment the network stack may hand a shaped link's veth (its gso_max_size): a
/// millisecond of the link's rate, at least a frame (the MTU, 1,500 without a transport), at most
/// 64 KiB. The token bucket's burst must hold a segment: with 64 KiB segments a 10 Mbit/s link
/// sent 51 ms of traffic at once and queued 64 ms, a ring all-reduce's rendezvous notices waited
/// that long behind other flows' data, and 0.2 MB took 0.56 s beside a transfer instead of 0.13 s;
/// frames alone at 1 Gbit/s cost this 2-core machine so many packets that communication took
/// twice as long.
int emulated_segment_bytes(double bandwidth, int mtu = 0);

/// The token-bucket arguments for a link of `bandwidth` bytes per second: rate, and a burst of two
/// segments (emulated_segment_bytes) or 4 ms of the rate, the larger. With a TCP transport
/// (`mtu` above 0) the rate is the bandwidth times (mtu + 14) / (mtu + 38): tbf counts a frame from
/// its Ethernet header, the wire also spends FCS, preamble and gap on it.
std::vector<std::string> tbf_arguments(double bandwidth, int mtu = 0);

/// Bytes sent out of each end of a link while it was up: a to b, and b to a.
struct LinkTraffic {
  std::uint64_t a_to_b = 0;
  std::uint64_t b_to_a = 0;
};

/// The namespaces, made on construction and removed on destruction (the processes in them must
/// have ended). Construction that fails part way removes what it made and throws
/// std::runtime_error naming the command and what it printed.
class EmulatedCluster {
 public:
  explicit EmulatedCluster(Emulation e);
  ~EmulatedCluster();
  EmulatedCluster(const EmulatedCluster&) = delete;
  EmulatedCluster& operator=(const EmulatedCluster&) = delete;

  const Emulation& layout() const { return e_; }
  /// Takes a link down or back up, as a cable pulled and put back: one end (a switch's where
  /// there is one) goes down, the other loses its carrier; packets sent into it are lost.
  void set_link(const std::string& name, bool up);
  /// What each link has carried so far (the interfaces' transmit counters).
  std::vector<LinkTraffic> traffic() const;
  /// Removes the namespaces now (the destructor does it otherwise).
  void remove();

 private:
  Emulation e_;
  std::size_t made_ = 0;  // namespaces made so far
};

/// The path of an installed program (PATH, then /usr/sbin, /sbin, /usr/bin, /bin); throws
/// std::runtime_error naming the Debian package iproute2 when there is none.
std::string program_path(const std::string& name);

/// Runs a command, waits for it; throws std::runtime_error with the command and its output when it
/// fails. Returns what it printed on standard output.
std::string run_command(const std::vector<std::string>& argv);

/// Whether this process can make network namespaces (root with the capabilities, iproute2
/// installed): tries one. When not, `why` says what is missing.
bool can_emulate(std::string& why);

/// Removes namespaces left by emulations whose process has died (their names carry its pid).
void remove_stale_namespaces(const std::string& prefix_stem = "rsemu");

/// The namespace name prefix of this process's emulations: "rsemu<pid>-".
std::string namespace_prefix();

}  // namespace resist::exec
