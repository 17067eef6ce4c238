#include "exec/emulation.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace resist::exec {
namespace {

/// The elements on paths between the workers' GPUs, with the links between them: the cluster's
/// tree with every branch that leads to no worker cut off.
struct Subtree {
  std::vector<char> kept;        // by element
  std::vector<std::size_t> links; // cluster link indices
};

Subtree worker_subtree(const Cluster& c, const std::vector<std::size_t>& worker_gpus) {
  const std::size_t n = c.elements.size();
  std::vector<std::vector<std::size_t>> adjacent(n);  // link indices
  for (std::size_t i = 0; i < c.links.size(); ++i) {
    adjacent[c.links[i].a].push_back(i);
    adjacent[c.links[i].b].push_back(i);
  }
  // The component of the first worker's GPU; a tree when it has one link fewer than elements.
  std::vector<char> seen(n, 0);
  std::vector<std::size_t> todo{worker_gpus.front()};
  seen[worker_gpus.front()] = 1;
  std::size_t elements = 0, ends = 0;
  while (!todo.empty()) {
    const std::size_t e = todo.back();
    todo.pop_back();
    ++elements;
    ends += adjacent[e].size();
    for (std::size_t l : adjacent[e]) {
      const std::size_t other = c.links[l].a == e ? c.links[l].b : c.links[l].a;
      if (!seen[other]) {
        seen[other] = 1;
        todo.push_back(other);
      }
    }
  }
  if (ends / 2 != elements - 1)
    throw std::invalid_argument(fmt::format(
        "cluster \"{}\": its links form a cycle ({} elements, {} links); the emulator joins hosts "
        "with Linux bridges, which needs the links to form a tree", c.name, elements, ends / 2));
  // Cut leaves that hold no worker until none is left.
  std::vector<char> worker(n, 0);
  for (std::size_t g : worker_gpus) worker[g] = 1;
  std::vector<std::size_t> degree(n, 0);
  for (std::size_t e = 0; e < n; ++e)
    if (seen[e]) degree[e] = adjacent[e].size();
  Subtree t{seen, {}};
  for (std::size_t e = 0; e < n; ++e) {
    std::size_t leaf = e;
    while (t.kept[leaf] && !worker[leaf] && degree[leaf] <= 1) {
      t.kept[leaf] = 0;
      std::size_t next = n;
      for (std::size_t l : adjacent[leaf]) {
        const std::size_t other = c.links[l].a == leaf ? c.links[l].b : c.links[l].a;
        if (t.kept[other]) next = other;
      }
      if (next == n) break;
      --degree[next];
      leaf = next;
    }
  }
  for (std::size_t i = 0; i < c.links.size(); ++i)
    if (t.kept[c.links[i].a] && t.kept[c.links[i].b]) t.links.push_back(i);
  return t;
}

}  // namespace

std::string program_path(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    for (std::size_t start = 0;;) {
      const std::size_t colon = p.find(':', start);
      dirs.push_back(p.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.emplace_back(d);
  for (const std::string& d : dirs) {
    const std::string candidate = d + "/" + name;
    if (!d.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(fmt::format("`{}` is not installed (Debian package iproute2)", name));
}

namespace {

/// What a child writes to its two pipes, read together until both close (each kept to 1 MiB).
std::array<std::string, 2> read_both(int out, int err) {
  std::array<std::string, 2> text;
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        if (text[i].size() < (1 << 20)) text[i].append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  return text;
}

std::string quoted(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

const EmulatedLink& Emulation::link_named(const std::string& name) const {
  std::string known;
  for (const EmulatedLink& l : links) {
    if (cluster.links[l.link].name == name) return l;
    known += (known.empty() ? "" : ", ") + cluster.links[l.link].name;
  }
  throw std::invalid_argument(fmt::format("no emulated link \"{}\" (the links between the workers: {})", name,
                                          known.empty() ? "none" : known));
}

Emulation plan_emulation(const Cluster& cluster, int workers, const std::string& prefix) {
  if (workers < 1) throw std::invalid_argument(fmt::format("expected at least 1 worker, found {}", workers));
  if (static_cast<std::size_t>(workers) > cluster.worker_gpus.size())
    throw std::invalid_argument(fmt::format("cluster \"{}\" places {} workers, {} asked", cluster.name,
                                            cluster.worker_gpus.size(), workers));
  const std::vector<std::size_t> gpus(cluster.worker_gpus.begin(), cluster.worker_gpus.begin() + workers);
  const Subtree tree = worker_subtree(cluster, gpus);
  Emulation e{cluster, {}, {}, {}, {}};
  std::vector<std::size_t> space_of(cluster.elements.size(), SIZE_MAX);
  std::size_t hosts = 0;
  for (std::size_t i = 0; i < cluster.elements.size(); ++i) {
    if (!tree.kept[i]) continue;
    if (e.spaces.size() == kMaxEmulatedSpaces)
      throw std::invalid_argument(fmt::format("cluster \"{}\" with {} workers needs more than {} namespaces",
                                              cluster.name, workers, kMaxEmulatedSpaces));
    EmulatedSpace s;
    s.name = fmt::format("{}{}", prefix, e.spaces.size());
    s.element = i;
    s.bridge = cluster.elements[i].kind == ElementKind::switch_;
    if (!s.bridge) {
      s.address = fmt::format("10.213.{}.{}", hosts / 250, hosts % 250 + 1);
      ++hosts;
    }
    space_of[i] = e.spaces.size();
    e.spaces.push_back(std::move(s));
  }
  for (int w = 0; w < workers; ++w) {
    const std::size_t s = space_of[gpus[static_cast<std::size_t>(w)]];
    e.worker_space.push_back(s);
    e.spaces[s].workers.push_back(w);
  }
  std::vector<int> host_links(e.spaces.size(), 0);
  bool unshaped = false;
  for (std::size_t l : tree.links) {
    const ClusterLink& cl = cluster.links[l];
    EmulatedLink el{l, space_of[cl.a], space_of[cl.b], fmt::format("l{}", e.links.size()),
                    cl.bandwidth <= kMaxShapedBandwidth};
    unshaped = unshaped || !el.shaped;
    for (std::size_t end : {el.a, el.b})
      if (!e.spaces[end].bridge && ++host_links[end] > 1)
        throw std::invalid_argument(fmt::format(
            "cluster \"{}\": GPU \"{}\" would forward traffic between its links; the emulator gives "
            "each GPU host one link (put a switch between)", cluster.name, cluster.elements[e.spaces[end].element].name));
    e.links.push_back(std::move(el));
  }
  if (unshaped)
    e.notes.push_back(fmt::format("links faster than {:g} Gbit/s run unshaped, as fast as this machine moves data",
                                  kMaxShapedBandwidth * 8 / 1e9));
  bool latency = false;
  for (const EmulatedLink& l : e.links) latency = latency || cluster.links[l.link].latency > 0;
  if (latency) e.notes.push_back("link latencies are not emulated (no tc netem here): each hop adds the machine's own, tens of microseconds");
  return e;
}

int emulated_segment_bytes(double bandwidth, int mtu) {
  const int frame = mtu > 0 ? mtu : 1500;
  return static_cast<int>(std::clamp(std::floor(bandwidth * 0.001), static_cast<double>(frame), 65536.0));
}

std::vector<std::string> tbf_arguments(double bandwidth, int mtu) {
  // A full frame takes its wire time. ACK frames then cost 66 bytes where the wire spends 90: the
  // emulated link carries 0.7% more data than tcp_payload_fraction says at 1,500 bytes.
  const double rate = mtu > 0 ? bandwidth * (mtu + 14.0) / (mtu + 38.0) : bandwidth;
  const double burst = std::max(2.0 * (emulated_segment_bytes(bandwidth, mtu) + 14.0), std::ceil(rate * 0.004));
  return {"tbf", "rate", fmt::format("{:.0f}bit", rate * 8), "burst", fmt::format("{:.0f}", burst), "latency", "10ms"};
}

std::vector<std::vector<std::string>> setup_commands(const Emulation& e) {
  std::vector<std::vector<std::string>> out;
  for (const EmulatedSpace& s : e.spaces) {
    out.push_back({"ip", "netns", "add", s.name});
    out.push_back({"ip", "-n", s.name, "link", "set", "lo", "up"});
    if (s.bridge) {
      out.push_back({"ip", "-n", s.name, "link", "add", "br0", "type", "bridge"});
      out.push_back({"ip", "-n", s.name, "link", "set", "br0", "up"});
    }
  }
  for (const EmulatedLink& l : e.links) {
    const EmulatedSpace& a = e.spaces[l.a];
    const EmulatedSpace& b = e.spaces[l.b];
    const ClusterLink& cl = e.cluster.links[l.link];
    out.push_back({"ip", "link", "add", l.device, "netns", a.name, "type", "veth", "peer", "name", l.device,
                   "netns", b.name});
    for (const EmulatedSpace* s : {&a, &b}) {
      if (s->bridge) out.push_back({"ip", "-n", s->name, "link", "set", l.device, "master", "br0"});
      else out.push_back({"ip", "-n", s->name, "addr", "add", s->address + "/16", "dev", l.device});
      if (l.shaped) {
        out.push_back({"ip", "-n", s->name, "link", "set", l.device, "gso_max_size",
                       std::to_string(emulated_segment_bytes(cl.bandwidth, cl.mtu))});
        std::vector<std::string> tc{"tc", "-n", s->name, "qdisc", "add", "dev", l.device, "root"};
        for (const std::string& a : tbf_arguments(cl.bandwidth, cl.mtu)) tc.push_back(a);
        out.push_back(std::move(tc));
      }
      if (cl.mtu > 0) out.push_back({"ip", "-n", s->name, "link", "set", l.device, "mtu", std::to_string(cl.mtu)});
      out.push_back({"ip", "-n", s->name, "link", "set", l.device, "up"});
    }
  }
  return out;
}

std::string run_command(const std::vector<std::string>& argv) {
  const std::string binary = program_path(argv.at(0));
  int out[2], err[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  if (::pipe(err) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, err[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  std::array<std::string, 2> text;
  if (spawned == 0) text = read_both(out[0], err[0]);
  ::close(out[0]);
  ::close(err[0]);
  if (spawned != 0) throw std::runtime_error(fmt::format("cannot start `{}`", quoted(argv)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string said = text[1].empty() ? text[0] : text[1];
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    throw std::runtime_error(fmt::format("`{}` failed ({}): {}", quoted(argv),
                                         WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                                                           : fmt::format("signal {}", WTERMSIG(status)),
                                         said.empty() ? "it printed nothing" : said));
  }
  return text[0];
}

std::string namespace_prefix() { return fmt::format("rsemu{}-", ::getpid()); }

void remove_stale_namespaces(const std::string& prefix_stem) {
  std::string listing;
  try {
    listing = run_command({"ip", "netns", "list"});
  } catch (const std::exception&) {
    return;  // nothing to clean where namespaces cannot be listed
  }
  std::size_t start = 0;
  while (start < listing.size()) {
    std::size_t end = listing.find('\n', start);
    if (end == std::string::npos) end = listing.size();
    const std::string line = listing.substr(start, end - start);
    start = end + 1;
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind(prefix_stem, 0) != 0) continue;
    const std::size_t dash = name.find('-', prefix_stem.size());
    if (dash == std::string::npos) continue;
    const std::string digits = name.substr(prefix_stem.size(), dash - prefix_stem.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(digits));
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // its emulation still runs
    try {
      run_command({"ip", "netns", "del", name});
    } catch (const std::exception&) {
    }
  }
}

bool can_emulate(std::string& why) {
  try {
    program_path("ip");
    program_path("tc");
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  if (::geteuid() != 0) {
    why = "making network namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run as root";
    return false;
  }
  // As an emulation uses them: `ip -n` makes / a slave mount in a mount namespace of its own, which
  // fails where / is not a mount point (a chroot into a plain folder).
  const std::string probe = namespace_prefix() + "probe";
  bool made = false;
  try {
    run_command({"ip", "netns", "add", probe});
    made = true;
    run_command({"ip", "-n", probe, "link", "set", "lo", "up"});
    run_command({"ip", "netns", "del", probe});
  } catch (const std::exception& e) {
    why = e.what();
    if (made) {
      try {
        run_command({"ip", "netns", "del", probe});
      } catch (const std::exception&) {
      }
    }
    return false;
  }
  return true;
}

EmulatedCluster::EmulatedCluster(Emulation e) : e_(std::move(e)) {
  try {
    for (const std::vector<std::string>& command : setup_commands(e_)) {
      run_command(command);
      if (command.size() == 4 && command[1] == "netns" && command[2] == "add") ++made_;
    }
  } catch (...) {
    remove();
    throw;
  }
}

EmulatedCluster::~EmulatedCluster() { remove(); }

void EmulatedCluster::remove() {
  for (std::size_t i = 0; i < made_; ++i) {
    try {  // no process may outlive its namespace's removal (a worker's own children included)
      const std::string pids = run_command({"ip", "netns", "pids", e_.spaces[i].name});
      for (std::size_t at = 0; at < pids.size();) {
        std::size_t used = 0;
        const long pid = std::stol(pids.substr(at), &used);
        if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
        at += used;
        while (at < pids.size() && (pids[at] == '\n' || pids[at] == ' ')) ++at;
      }
    } catch (const std::exception&) {
    }
    try {
      run_command({"ip", "netns", "del", e_.spaces[i].name});
    } catch (const std::exception&) {
      // already gone
    }
  }
  made_ = 0;
}

void EmulatedCluster::set_link(const std::string& name, bool up) {
  // As a pulled cable: one end goes down (a switch's, where there is one), the other loses its
  // carrier but keeps its address and routes, so what it sends is lost, not refused.
  const EmulatedLink& l = e_.link_named(name);
  const std::size_t end = e_.spaces[l.a].bridge ? l.a : l.b;
  run_command({"ip", "-n", e_.spaces[end].name, "link", "set", l.device, up ? "up" : "down"});
}

std::vector<LinkTraffic> EmulatedCluster::traffic() const {
  const auto sent = [&](std::size_t space, const std::string& device) -> std::uint64_t {
    const std::string text = run_command({"ip", "-j", "-s", "-n", e_.spaces[space].name, "link", "show", "dev", device});
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array() || j.empty() || !j[0].contains("stats64"))
      throw std::runtime_error(fmt::format("cannot read the counters of {} in {}", device, e_.spaces[space].name));
    return j[0]["stats64"]["tx"]["bytes"].get<std::uint64_t>();
  };
  std::vector<LinkTraffic> out;
  for (const EmulatedLink& l : e_.links) out.push_back({sent(l.a, l.device), sent(l.b, l.device)});
  return out;
}

}  // namespace resist::exec
