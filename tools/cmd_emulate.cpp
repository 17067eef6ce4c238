// `resist emulate CLUSTER -- COMMAND...`: the cluster file as network namespaces on this machine,
// COMMAND started once per worker in its host's namespace with the launcher variables (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), as torchrun would.
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "exec/emulation.hpp"
#include "exec/supervisor.hpp"
#include "input/input_error.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

namespace fs = std::filesystem;

struct LinkEvent {
  std::string link;
  double at = 0;  // seconds after the workers started
  bool up = false;
};

struct EmulateOptions {
  std::string cluster;
  std::optional<int> workers;
  int port = 29500;
  bool show = false;
  std::vector<std::string> down, up;
  std::vector<std::string> command;
};

/// "LINK@SECONDS" of --link-down and --link-up.
LinkEvent parse_event(const std::string& text, bool up) {
  const std::string option = up ? "--link-up" : "--link-down";
  const std::size_t at = text.rfind('@');
  LinkEvent e{text.substr(0, at == std::string::npos ? 0 : at), 0, up};
  std::size_t used = 0;
  try {
    if (at != std::string::npos) e.at = std::stod(text.substr(at + 1), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (at == std::string::npos || e.link.empty() || used == 0 || used != text.size() - at - 1 || !(e.at >= 0) ||
      e.at > 86400)
    throw InputError(option, "", fmt::format("expected LINK@SECONDS (a cluster link's name, seconds after the "
                                             "workers start, 0 to 86400), found \"{}\"", text));
  return e;
}

std::string rate_text(double bytes_per_second) {
  const double bits = bytes_per_second * 8;
  return bits >= 1e9 ? fmt::format("{:g} Gbit/s", bits / 1e9) : fmt::format("{:g} Mbit/s", bits / 1e6);
}

std::string layout_text(const exec::Emulation& e) {
  std::string out = fmt::format("cluster \"{}\" ({}): {} workers, {} namespaces, {} links\n", e.cluster.name,
                                e.cluster.source, e.worker_space.size(), e.spaces.size(), e.links.size());
  for (const exec::EmulatedSpace& s : e.spaces) {
    const std::string& element = e.cluster.elements[s.element].name;
    if (s.bridge) {
      out += fmt::format("  {}  switch {} (bridge)\n", s.name, element);
      continue;
    }
    std::string ranks;
    for (int w : s.workers) ranks += (ranks.empty() ? "" : ",") + std::to_string(w);
    out += fmt::format("  {}  {} {}  workers {}\n", s.name, element, s.address, ranks.empty() ? "-" : ranks);
  }
  for (const exec::EmulatedLink& l : e.links) {
    const ClusterLink& cl = e.cluster.links[l.link];
    out += fmt::format("  link {}: {} - {}, {}{}{}\n", cl.name, e.cluster.elements[cl.a].name,
                       e.cluster.elements[cl.b].name, rate_text(cl.bandwidth),
                       cl.mtu > 0 ? fmt::format(", TCP in {}-byte frames", cl.mtu) : "", l.shaped ? "" : " (unshaped)");
  }
  for (const std::string& n : e.notes) out += "  note: " + n + "\n";
  return out;
}

/// Takes links down and up at their times, from a thread of its own, until stopped.
class LinkEvents {
 public:
  LinkEvents(exec::EmulatedCluster& cluster, std::vector<LinkEvent> events)
      : cluster_(cluster), events_(std::move(events)) {
    if (!events_.empty()) thread_ = std::thread([this] { play(); });
  }
  ~LinkEvents() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void play() {
    const auto start = std::chrono::steady_clock::now();
    for (const LinkEvent& e : events_) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_until(lock, start + std::chrono::duration<double>(e.at), [this] { return stop_; })) return;
      try {
        cluster_.set_link(e.link, e.up);
        fmt::print(stderr, "resist emulate: link {} {} at {:g} s\n", e.link, e.up ? "up" : "down", e.at);
      } catch (const std::exception& x) {
        fmt::print(stderr, "resist emulate: cannot take link {} {}: {}\n", e.link, e.up ? "up" : "down", x.what());
      }
    }
  }

  exec::EmulatedCluster& cluster_;
  std::vector<LinkEvent> events_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

/// The layout of the cluster's first `workers` workers; InputError naming what cannot be emulated.
exec::Emulation layout_of(const EmulateOptions& o, const Cluster& cluster, int workers) {
  try {
    return exec::plan_emulation(cluster, workers, exec::namespace_prefix());
  } catch (const std::invalid_argument& e) {
    throw InputError(o.workers && workers > static_cast<int>(cluster.worker_gpus.size()) ? "--workers" : cluster.source,
                     "", e.what());
  }
}

/// --link-down and --link-up, in time order; InputError for a link the layout does not have.
std::vector<LinkEvent> events_of(const EmulateOptions& o, const exec::Emulation& layout) {
  std::vector<LinkEvent> events;
  for (const std::string& d : o.down) events.push_back(parse_event(d, false));
  for (const std::string& u : o.up) events.push_back(parse_event(u, true));
  std::stable_sort(events.begin(), events.end(), [](const LinkEvent& a, const LinkEvent& b) { return a.at < b.at; });
  for (const LinkEvent& e : events) {
    try {
      layout.link_named(e.link);
    } catch (const std::invalid_argument& x) {
      throw InputError(e.up ? "--link-up" : "--link-down", "", x.what());
    }
  }
  return events;
}

std::string commands_text(const exec::Emulation& layout) {
  std::string text = "commands:\n";
  for (const auto& argv : exec::setup_commands(layout)) {
    std::string line;
    for (const std::string& a : argv) line += (line.empty() ? "" : " ") + a;
    text += "  " + line + "\n";
  }
  return text;
}

/// COMMAND once per worker, in its host's namespace, with the launcher's variables.
void start_workers(exec::Supervisor& supervisor, const exec::Emulation& e, const EmulateOptions& o) {
  const fs::path ip_path = exec::program_path("ip");
  for (const exec::EmulatedSpace& space : e.spaces)
    for (std::size_t local = 0; local < space.workers.size(); ++local) {
      const int rank = space.workers[local];
      std::vector<std::string> args{"netns", "exec", space.name};
      args.insert(args.end(), o.command.begin(), o.command.end());
      supervisor.start(ip_path, args,
                       {fmt::format("RANK={}", rank), fmt::format("WORLD_SIZE={}", e.worker_space.size()),
                        fmt::format("LOCAL_RANK={}", local), fmt::format("LOCAL_WORLD_SIZE={}", space.workers.size()),
                        "MASTER_ADDR=" + e.master_addr(), fmt::format("MASTER_PORT={}", o.port)},
                       rank);
    }
}

std::string traffic_text(const exec::EmulatedCluster& emulated, double seconds) {
  const exec::Emulation& e = emulated.layout();
  const std::vector<exec::LinkTraffic> traffic = emulated.traffic();
  std::string text = fmt::format("resist emulate: {} workers ended well in {:.2f} s; traffic per link:\n",
                                 e.worker_space.size(), seconds);
  for (std::size_t i = 0; i < e.links.size(); ++i) {
    const ClusterLink& cl = e.cluster.links[e.links[i].link];
    text += fmt::format("  {}: {:.3f} MB {} -> {}, {:.3f} MB back\n", cl.name, traffic[i].a_to_b / 1e6,
                        e.cluster.elements[cl.a].name, e.cluster.elements[cl.b].name, traffic[i].b_to_a / 1e6);
  }
  return text;
}

int emulate(const EmulateOptions& o) {
  const Cluster cluster = load_cluster(o.cluster, fs::current_path());
  exec::Emulation layout = layout_of(o, cluster, o.workers.value_or(static_cast<int>(cluster.worker_gpus.size())));
  const std::vector<LinkEvent> events = events_of(o, layout);
  if (o.show) {
    const std::string text = layout_text(layout) + commands_text(layout);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (o.command.empty())
    throw InputError("resist emulate", "", "expected a command to run per worker after --, e.g. "
                                           "`resist emulate CLUSTER -- resist run SCENARIO`");
  if (o.command.front().empty()) throw InputError("resist emulate", "", "the command after -- is an empty word");
  std::string why;
  if (!exec::can_emulate(why)) throw std::runtime_error("cannot emulate a cluster here: " + why);
  exec::remove_stale_namespaces();

  exec::StopSignals signals;
  exec::EmulatedCluster emulated(std::move(layout));
  fmt::print(stderr, "resist emulate: {}", layout_text(emulated.layout()));
  const auto started = std::chrono::steady_clock::now();
  {
    exec::Supervisor supervisor;
    start_workers(supervisor, emulated.layout(), o);
    LinkEvents faults(emulated, events);
    try {
      supervisor.wait_all();
    } catch (const exec::Interrupted& i) {
      fmt::print(stderr, "resist emulate: stopped by signal {}; removing the namespaces\n", i.signal);
      return 128 + i.signal;
    }
  }
  const std::string text =
      traffic_text(emulated, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::fwrite(text.data(), 1, text.size(), stderr);
  return 0;
}

}  // namespace

std::vector<std::string> emulated_command;

Runner add_emulate_command(CLI::App& app) {
  auto o = std::make_shared<EmulateOptions>();
  CLI::App* sub = app.add_subcommand(
      "emulate", "Make a cluster file real on this machine (root): a network namespace per GPU host and "
                 "switch, links shaped with tc to the file's bandwidths; run COMMAND once per worker in "
                 "its host's namespace with RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR "
                 "and MASTER_PORT set; remove every namespace at the end, on failure or on a signal");
  sub->add_option("cluster", o->cluster, "Cluster: a built-in name or a JSON file")->required();
  sub->add_option("--workers", o->workers, "Workers (default: every place the cluster has)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--port", o->port, "MASTER_PORT")->check(CLI::Range(1, 65535));
  sub->add_flag("--show", o->show, "Print the namespaces, links and commands, and make nothing (no root needed)");
  sub->add_option("--link-down", o->down, "Take a link down LINK@SECONDS after the workers start (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--link-up", o->up, "Bring a link back up LINK@SECONDS after the workers start (repeatable)")
      ->allow_extra_args(false);
  sub->footer("Usage: resist emulate CLUSTER [OPTIONS] -- COMMAND [ARGS...]; e.g. resist emulate "
              "cpu-4hosts-100m --workers 2 -- resist run --rounds 5");
  return [o] {
    o->command = emulated_command;
    return emulate(*o);
  };
}

}  // namespace resist::cli
