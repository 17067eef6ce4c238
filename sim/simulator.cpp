#include "sim/simulator.hpp"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "model/model_text.hpp"
#include "plan/cost_table.hpp"
#include "plan/interpreter.hpp"
#include "plan/member_index.hpp"
#include "plan/peak_memory.hpp"
#include "sim/engine_result.hpp"
#include "sim/sim_backend.hpp"
#include "sim/simgrid_compat.hpp"
#include "sim/write_fully.hpp"
#include "topology/star_groups.hpp"

namespace resist {
namespace {

using nlohmann::json;

/// Workers above which actor stacks come from the heap (see run_engine).
constexpr int kHeapStacksAbove = 8192;

/// Each worker's device's arithmetic rate over its memory bandwidth (World::flops_per_byte).
std::vector<double> device_flops_per_byte(const Plan& plan, const Cluster& cluster) {
  std::vector<double> out;
  for (std::size_t w = 0; w < static_cast<std::size_t>(plan.workers); ++w) {
    const GpuModel& m = cluster.gpu_model(cluster.elements[cluster.worker_gpus[w]]);
    out.push_back(m.memory_bandwidth > 0 ? m.training_flops(plan.dtype) / m.memory_bandwidth : 0);
  }
  return out;
}

/// SimResult::compute_model: "H100 roofline, 494.7 TFLOP/s (TF32) and 3.35 TB/s memory, x efficiency
/// 0.4", one entry per device model the workers use; or the cost table.
std::string describe_compute(const Plan& plan, const Cluster& cluster, const SimSettings& s) {
  std::string out;
  if (!s.cost_table.empty()) {
    out = fmt::format("cost table {} x {:.4g}", s.cost_table, s.cost_scale);
  } else {
    std::vector<std::string> seen;
    for (std::size_t w = 0; w < static_cast<std::size_t>(plan.workers); ++w) {
      const GpuModel& m = cluster.gpu_model(cluster.elements[cluster.worker_gpus[w]]);
      if (std::find(seen.begin(), seen.end(), m.name) != seen.end()) continue;
      seen.push_back(m.name);
      const bool tf32 = plan.dtype == Dtype::fp32 && m.tf32_flops > 0;
      const std::string rate = fmt::format("{}FLOP/s{}", si(m.training_flops(plan.dtype), 4), tf32 ? " (TF32)" : "");
      out += (out.empty() ? "" : "; ") +
             (m.memory_bandwidth > 0 ? fmt::format("{} roofline, {} and {}B/s memory", m.name, rate, si(m.memory_bandwidth))
                                     : fmt::format("{} FLOPs alone, {}", m.name, rate));
    }
    out += fmt::format(", x efficiency {:.4g}", s.efficiency);
  }
  if (s.iteration_overhead_s > 0) out += fmt::format(", + {:.4g} s per iteration", s.iteration_overhead_s);
  return out;
}

/// Runs the simulation in this process (a fresh child: SimGrid allows one engine per process).
sim::EngineResult run_engine(const Plan& plan, const Cluster& cluster, const SimSettings& settings, const CostTable* table) {
  char name[] = "resist-sim";
  char quiet[] = "--log=root.thresh:error";
  // Actor stacks: SimGrid maps each one with a guard page, two memory mappings per actor; Linux
  // allows 65,530 mappings per process, which ~16,000 workers and their helpers exceed. Up to
  // kHeapStacksAbove workers, stacks are 256 KiB with a guard page: 32 times what resist's actors
  // were measured to need (the simulator's tests pass with 8 KiB, not 4), and mapping and
  // unmapping them costs a third of what SimGrid's default 8 MiB did (8,192 workers: 6.6 s ->
  // 4.2 s). Above, SimGrid calloc's them without a guard page, still 256 KiB: past glibc's mmap
  // threshold, fixed here at 128 KiB (freed blocks would raise it), each is a fresh zero mapping,
  // resident only where used, and adjacent ones merge into few mappings. Below it they came from
  // the heap, every byte cleared and resident (32 KiB stacks: 2 GiB and 11 s at 65,536 workers).
  // AddressSanitizer's frames are larger: its builds keep SimGrid's 8 MiB.
  std::string stack = sim::compat::kAddressSanitizer ? "--cfg=contexts/stack-size:8192" : "--cfg=contexts/stack-size:256";
  std::string guard = "--cfg=contexts/guard-size:1";
  if (plan.workers > kHeapStacksAbove) {
    guard = "--cfg=contexts/guard-size:0";
    ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);  // this child only: it exits when the simulation ends
    ::mallopt(M_MMAP_MAX, 1 << 24);           // glibc's default stops at 65,536 mapped blocks
  }
  char threads[] = "--cfg=contexts/factory:thread";  // must be set before the engine starts
  int argc = sim::compat::kAddressSanitizer ? 5 : 4;
  char* argv[] = {name, quiet, stack.data(), guard.data(), threads, nullptr};
  sim::sg4::Engine engine(&argc, argv);
  sim::sg4::Engine::set_config("network/model:" + settings.network_model);
  if (settings.network_model == "CM02") sim::sg4::Engine::set_config("network/crosstraffic:0");
  const bool coarse = uses_coarse_collectives(settings, plan.workers);
  sim::World world(plan, sim::build_platform(cluster, plan.dtype, settings), coarse,
                   worker_groups(cluster), device_flops_per_byte(plan, cluster));
  sim::CompactRecorder recorder(plan);
  const MemberIndex members(plan);
  for (WorkerId w = 0; w < plan.workers; ++w)
    sim::compat::add_actor(fmt::format("worker{}", w), world.host(w),
                           [&world, &recorder, &plan, &settings, &members, table, w] {
      sim::SimBackend backend(world, w, settings, table);
      Interpreter interpreter(plan, w, backend, &members);
      interpreter.add_observer(recorder);
      interpreter.run();
    });
  const auto t0 = std::chrono::steady_clock::now();
  engine.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json links = json::object();
  for (const auto& [link, bytes] : world.link_bytes()) links[link] = bytes;
  return {{{"links", std::move(links)}, {"transfers", world.transfers()}, {"wall_s", wall}, {"peak_rss_mib", peak_rss_mib()}},
          std::move(recorder.ops),
          std::move(recorder.rounds)};
}

std::string read_all(int fd) {
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;  // a signal handler (a timer, say) interrupted the wait
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

/// Runs `run_engine` in a child process and returns what it handed over.
sim::EngineResult run_isolated(const Plan& plan, const Cluster& cluster, const SimSettings& settings, const CostTable* table) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("simulation: cannot create a pipe");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("simulation: cannot fork");
  if (pid == 0) {
    ::close(fds[0]);
    sim::EngineResult out;
    try {
      out = run_engine(plan, cluster, settings, table);
    } catch (const std::exception& e) {
      out = {{{"error", e.what()}}, {}, {}};
    }
    sim::write_fully(fds[1], sim::encode(out));  // the parent reports a result cut short
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  const std::string text = read_all(fds[0]);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw std::runtime_error(fmt::format("simulation crashed (signal {})", WTERMSIG(status)));
  sim::EngineResult out = sim::decode(text);
  if (out.summary.contains("error"))
    throw std::runtime_error("simulation failed: " + out.summary["error"].get<std::string>());
  return out;
}

std::vector<LinkLoad> link_loads(const json& bytes, const Cluster& cluster) {
  std::unordered_map<std::string, const ClusterLink*> by_way;  // SimGrid's names of each way of a link
  for (const ClusterLink& l : cluster.links) {
    by_way[l.name + "_UP"] = &l;
    by_way[l.name + "_DOWN"] = &l;
  }
  std::vector<LinkLoad> out;
  for (auto it = bytes.begin(); it != bytes.end(); ++it) {
    LinkLoad load{it.key(), "loopback", 0, it.value().get<double>()};
    if (const auto l = by_way.find(it.key()); l != by_way.end()) {
      load.kind = l->second->kind;
      load.bandwidth = l->second->bandwidth;
    }
    out.push_back(std::move(load));
  }
  std::sort(out.begin(), out.end(), [](const LinkLoad& a, const LinkLoad& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
  });
  return out;
}

}  // namespace

bool uses_coarse_collectives(const SimSettings& settings, int workers) {
  if (settings.collectives == "coarse") return true;
  return settings.collectives == "auto" && workers > settings.coarse_above;
}

void check_fit(const Plan& plan, const Cluster& cluster, const std::string& scenario_source) {
  const std::size_t places = cluster.worker_gpus.size();
  if (static_cast<std::size_t>(plan.workers) > places)
    throw InputError(scenario_source, "/strategy/workers",
                     fmt::format("expected at most {} workers: cluster \"{}\" ({}) places workers "
                                 "on {} GPUs, found {} (add GPUs, or list workers in the cluster's "
                                 "\"workers\" to share GPUs)", places, cluster.name, cluster.source,
                                 places, plan.workers));
  for (std::size_t w = 0; w < static_cast<std::size_t>(plan.workers); ++w) {
    const GpuModel& m = cluster.gpu_model(cluster.elements[cluster.worker_gpus[w]]);
    if (!m.peak_flops.count(plan.dtype))
      throw InputError(scenario_source, "/training/dtype",
                       fmt::format("GPU model {} of cluster \"{}\" has no {} rate; use a dtype it "
                                   "supports", m.name, cluster.name, to_string(plan.dtype)));
  }
}

Cluster scenario_cluster(const Scenario& s) {
  std::string known;
  for (const std::string& n : builtin_cluster_names()) known += (known.empty() ? "" : ", ") + n;
  if (s.cluster.empty())
    throw InputError(s.source, "/cluster", fmt::format("resist sim needs a cluster: a built-in "
                                                       "name ({}) or a path ending in .json", known));
  try {
    return load_cluster(s.cluster, s.folder());
  } catch (const InputError& e) {
    if (!e.source().empty()) throw;
    throw InputError(s.source, "/cluster", e.message());
  }
}

SimResult simulate(const Plan& plan, const Cluster& given, const SimSettings& settings) {
  // Links as fast as they carry the plan's bytes: the transport's headers and framing (TCP over
  // Ethernet), then what the software gets of the rest (the calibrated scale).
  Cluster cluster = given;
  for (ClusterLink& l : cluster.links) l.bandwidth *= l.payload_fraction() * settings.bandwidth_scale;
  cluster.loopback_bandwidth *= settings.bandwidth_scale;
  std::optional<CostTable> table;
  if (!settings.cost_table.empty()) {
    table = load_cost_table(settings.cost_table);
    check_cost_table(*table, plan);
  }
  const sim::EngineResult out = run_isolated(plan, cluster, settings, table ? &*table : nullptr);
  SimResult r;
  r.strategy = std::string(to_string(plan.strategy));
  r.workers = plan.workers;
  r.collective_model = uses_coarse_collectives(settings, plan.workers) ? "coarse" : "step";
  r.compute_model = describe_compute(plan, given, settings);
  r.total_rounds = plan.total_rounds;
  TraceRecorder recorder;  // the records as trace events, by the plan the child ran
  for (const sim::Record& o : out.ops) {
    const Round& round = plan.rounds.at(o.round);
    recorder.on_op(OpCall{plan, round, round.ops.at(o.op), o.worker}, o.start, o.end);
  }
  for (const sim::Record& o : out.rounds) recorder.on_round(plan, plan.rounds.at(o.round), o.worker, o.start, o.end);
  r.trace = {{"simulated", r.strategy, plan.workers, plan.network.spec.arch,
              {{"cluster", cluster.name}, {"collectives", r.collective_model}}},
             std::move(recorder.events),
             std::move(recorder.rounds)};
  r.rounds = round_timings(r.trace.events, r.trace.rounds);
  const json& summary = out.summary;
  r.links = link_loads(summary.at("links"), cluster);
  r.transfers = summary.at("transfers").get<std::uint64_t>();
  r.wall_s = summary.at("wall_s").get<double>();
  r.peak_rss_mib = summary.at("peak_rss_mib").get<double>();
  r.simulated_s = r.rounds.empty() ? 0 : r.rounds.back().end;
  r.total_time_s = r.simulated_s;
  if (!r.rounds.empty() && r.rounds.size() < plan.total_rounds) {
    r.extrapolated = true;
    r.total_time_s = r.simulated_s / static_cast<double>(r.rounds.size()) *
                     static_cast<double>(plan.total_rounds);
  }
  return r;
}

}  // namespace resist
