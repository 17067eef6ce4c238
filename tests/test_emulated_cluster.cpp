// Real training over an emulated cluster (network namespaces, shaped links): communication that
// overlaps, `resist emulate` end to end, and a link pulled mid-run. Skipped (exit 77) where this
// process cannot make namespaces (not root).
#define DOCTEST_CONFIG_IMPLEMENT

#include <sys/wait.h>
#include <unistd.h>

#include <barrier>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include "exec/communicator.hpp"
#include "exec/emulation.hpp"
#include "topology/cluster.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include "tests/cli_helpers.hpp"
#include "tests/netns_helpers.hpp"

using namespace resist;
using namespace resist::test;
using nlohmann::json;

namespace {

const std::string kTiny = kTinyRun + " --set strategy.min_depth=1";

/// A cluster file of `hosts` single-core hosts on one switch, each link at `rate`.
std::string cluster_file(int hosts, const std::string& rate) {
  const std::string name = fmt::format("hosts{}-{}.json", hosts, rate);
  write(scratch() / name, json{{"name", fmt::format("{} hosts on {}", hosts, rate)}, {"shape", "star"}, {"gpu", "CPU-core"},
                               {"gpus", hosts}, {"link", {{"bandwidth", rate}, {"latency", "0s"}}}}.dump());
  return name;
}

/// The namespace prefix `resist emulate` printed ("rsemu123-").
std::string printed_prefix(const std::string& err) {
  std::smatch m;
  REQUIRE(std::regex_search(err, m, std::regex("(rsemu[0-9]+-)0 ")));
  return m[1];
}

bool any_namespace_with(const std::string& prefix) {
  return exec::run_command({"ip", "netns", "list"}).find(prefix) != std::string::npos;
}

std::string resist_bin() {
  const char* bin = std::getenv("RESIST_BIN");
  REQUIRE(bin != nullptr);
  return bin;
}

/// Ranks 0 and 1 of a Gloo job on two emulated hosts joined through a switch at `rate`, each on a
/// thread in its host's namespace: `body(rank, communicator, phase)` (`phase` lines the two up). A
/// rank's failure fails the case, naming it.
template <typename Body>
void on_two_hosts(const std::string& rate, const std::string& prefix, Body body) {
  exec::EmulatedCluster cluster(exec::plan_emulation(load_cluster(scratch() / cluster_file(2, rate), "."), 2,
                                                     exec::namespace_prefix() + prefix));
  const exec::Emulation& e = cluster.layout();
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::barrier phase(2);
  std::vector<std::string> failures(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    const exec::EmulatedSpace& space = e.spaces[e.worker_space[static_cast<std::size_t>(r)]];
    ranks.push_back(in_namespace(space.name, [&, r, host = space.address] {
      try {
        auto comm = exec::make_gloo_communicator(store, r, 2, host, std::chrono::seconds(30));
        body(r, *comm, phase);
      } catch (const std::exception& x) {
        failures[static_cast<std::size_t>(r)] = x.what();
      }
    }));
  }
  for (auto& t : ranks) t.join();
  for (const std::string& f : failures) REQUIRE_MESSAGE(f.empty(), f);
}

}  // namespace

TEST_CASE("two transfers on a shaped link take about as long as the larger, not the sum") {
  // Ranks 0 and 1 on hosts joined through a switch at 20 Mbit/s; 1 MB each way. Started together,
  // the two directions share nothing (full duplex): ~0.4 s. One after the other: ~0.8 s.
  double together = 0, in_turn = 0;
  on_two_hosts("20Mbps", "o", [&](int r, exec::Communicator& comm, std::barrier<>& phase) {
    at::Tensor out = at::full({250000}, static_cast<float>(r + 1)), in = at::zeros({250000});
    const int peer = 1 - r;
    phase.arrive_and_wait();
    auto start = std::chrono::steady_clock::now();
    exec::Pending a = r == 0 ? comm.start_send(out, peer, 1) : comm.start_recv(in, peer, 1);
    exec::Pending b = r == 0 ? comm.start_recv(in, peer, 2) : comm.start_send(out, peer, 2);
    a.complete();
    b.complete();
    phase.arrive_and_wait();
    if (r == 0) together = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(at::equal(in, at::full({250000}, static_cast<float>(peer + 1))));
    start = std::chrono::steady_clock::now();
    if (r == 0) {
      comm.send(out, peer, 3);
      comm.recv(in, peer, 4);
    } else {
      comm.recv(in, peer, 3);
      comm.send(out, peer, 4);
    }
    phase.arrive_and_wait();
    if (r == 0) in_turn = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    phase.arrive_and_wait();
  });
  MESSAGE("1 MB each way at 20 Mbit/s: " << together << " s started together, " << in_turn << " s one after the other");
  CHECK(together < 0.75 * in_turn);
  CHECK(in_turn > 0.6);  // the link was shaped: 2 MB at 2.5 MB/s
}

TEST_CASE("an all-reduce does not wait behind a block sent to a neighbour meanwhile") {
  // 4 MB from rank 0 to rank 1 at 20 Mbit/s (~1.7 s) and, started just after it, an all-reduce of
  // 0.2 MB over both. Sharing rank 0's link, the all-reduce takes 0.12-0.16 s (0.47-0.58 s when the
  // emulated links queued 64 KiB segments). On one TCP connection with the block, its rendezvous
  // notices queue behind the block's payload and it ends with the block: the head-of-line blocking
  // that stalled ResIST's rings.
  double block_s = 0, allreduce_s = 0;
  on_two_hosts("20Mbps", "h", [&](int r, exec::Communicator& comm, std::barrier<>& phase) {
    at::Tensor block = r == 0 ? at::full({1000000}, 3.0f) : at::zeros({1000000});
    at::Tensor mean = at::full({50000}, static_cast<float>(r));
    phase.arrive_and_wait();
    const auto start = std::chrono::steady_clock::now();
    exec::Pending moving = r == 0 ? comm.start_send(block, 1, 1) : comm.start_recv(block, 0, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the block's payload is under way
    const auto reduce_start = std::chrono::steady_clock::now();
    exec::Pending reducing = comm.start_allreduce_mean(mean, {0, 1}, 2);
    reducing.complete();
    const double reduce_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - reduce_start).count();
    moving.complete();
    const double moved_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(at::allclose(mean, at::full({50000}, 0.5f)));
    CHECK(at::equal(block, at::full({1000000}, 3.0f)));
    phase.arrive_and_wait();
    if (r == 1) {  // the receiver: the block has arrived when its receive ends
      block_s = moved_s;
      allreduce_s = reduce_s;
    }
  });
  MESSAGE("4 MB block at 20 Mbit/s: " << block_s << " s; the 0.2 MB all-reduce started meanwhile: " << allreduce_s << " s");
  CHECK(block_s > 1.2);  // the link was shaped: 4 MB at 2.5 MB/s
  CHECK(allreduce_s < 0.5 * (block_s - 0.1));
}

TEST_CASE("resist emulate: a job across two emulated hosts trains, and the namespaces go") {
  const std::string cluster = cluster_file(2, "100Mbps");
  const Result r = run_resist(fmt::format("emulate {} -- '{}' run{} --set training.rounds=3 --threads 1 --quiet "
                                          "--trace emulated.json",
                                          cluster, resist_bin(), kTiny));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("identical") != std::string::npos);  // worker 0 printed the job's results
  CHECK(r.err.find("resist emulate: 2 workers ended well") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex("gpu0-link: ([0-9.]+) MB gpu0 -> switch")));
  CHECK(std::stod(m[1]) > 0.01);  // the job's traffic went over the emulated links
  const json trace = json::parse(slurp(scratch() / "emulated.json"));
  CHECK(trace["otherData"]["workers"] == 2);
  CHECK_FALSE(any_namespace_with(printed_prefix(r.err)));
}

TEST_CASE("--link-down before the job meets: the job ends within the time-out, naming the address") {
  const std::string cluster = cluster_file(2, "100Mbps");
  const auto start = std::chrono::steady_clock::now();
  const Result r = run_resist(fmt::format("emulate {} --link-down gpu1-link@0 -- '{}' run{} --set training.rounds=3 "
                                          "--threads 1 --quiet --timeout 5", cluster, resist_bin(), kTiny));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("ended after " << seconds << " s:\n" << r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("link gpu1-link down at 0 s") != std::string::npos);
  CHECK(r.err.find("rendezvous at 10.213.0.1:29500 (worker 0's store)") != std::string::npos);
  CHECK(r.err.find("resist: failed: worker 1 failed") != std::string::npos);
  CHECK(seconds < 5 + 10);
  CHECK_FALSE(any_namespace_with(printed_prefix(r.err)));
}

TEST_CASE("a worker that hangs on one emulated host is named by the other, asked across the link") {
  // Worker 1 hangs after round index 1; worker 0 gives up on the next all-reduce and asks worker 1's
  // probe port, at its host's address, where it is.
  const std::string cluster = cluster_file(2, "100Mbps");
  ::setenv("RESIST_FAULT", "1:1:hang", 1);
  const Result r = run_resist(fmt::format("emulate {} -- '{}' run{} --set training.rounds=4 --threads 1 --quiet --timeout 3",
                                          cluster, resist_bin(), kTiny));
  ::unsetenv("RESIST_FAULT");
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("(waited the time-out, 3 s: a peer died or hangs); where the workers are: "
                   "worker 1 done with round 2, round 3 not begun (for ") != std::string::npos);
  CHECK(r.err.find("worker 0 waiting in round 3's ") != std::string::npos);
  CHECK(r.err.find("): worker 1 is behind the others") != std::string::npos);
  CHECK_FALSE(any_namespace_with(printed_prefix(r.err)));
}

TEST_CASE("resist emulate stopped by a signal stops the workers and removes the namespaces") {
  const std::string cluster = cluster_file(2, "100Mbps");
  const fs::path dir = scratch();
  fs::remove(dir / "stopped.code");
  const std::string background = fmt::format("cd '{}' && exec '{}' emulate {} -- sleep 60 > stopped.out 2> stopped.err",
                                             dir.string(), resist_bin(), cluster);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", background.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The workers run once the layout is printed and the namespaces hold processes.
  std::string prefix;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    std::smatch m;
    const std::string err = slurp(dir / "stopped.err");
    if (std::regex_search(err, m, std::regex("(rsemu[0-9]+-)0 ")) &&
        !exec::run_command({"ip", "netns", "pids", std::string(m[1]) + "2"}).empty()) {
      prefix = m[1];
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(!prefix.empty());
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  CHECK(slurp(dir / "stopped.err").find("stopped by signal 15") != std::string::npos);
  CHECK_FALSE(any_namespace_with(prefix));
  CHECK(run_command("pgrep -x -f 'sleep 6[0]'").out.empty());  // the workers are gone
}

TEST_CASE("resist emulate refuses what it cannot do, before making anything") {
  const std::string cluster = cluster_file(2, "100Mbps");
  Result r = run_resist("emulate " + cluster);
  CHECK(r.code == 2);
  CHECK(r.err.find("expected a command to run per worker after --") != std::string::npos);
  r = run_resist("emulate " + cluster + " --workers 3 -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--workers: cluster \"2 hosts on 100Mbps\" places 2 workers, 3 asked") != std::string::npos);
  r = run_resist("emulate " + cluster + " --link-down nic@2 -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("--link-down: no emulated link \"nic\" (the links between the workers: gpu0-link, gpu1-link)") !=
        std::string::npos);
  r = run_resist("emulate " + cluster + " --link-up gpu0-link@soon -- true");
  CHECK(r.code == 2);
  CHECK(r.err.find("expected LINK@SECONDS") != std::string::npos);
  r = run_resist("emulate ring.json -- true");
  CHECK(r.code == 2);
}

TEST_CASE("a link pulled mid-run ends the job within the time-out; resumed, it ends with the model of an unbroken run") {
  // 1 Mbit/s: a round's exchange takes about a second, so the link goes down between checkpoints.
  const std::string cluster = cluster_file(2, "1Mbps");
  // Only the cut run measures the time-out; the others get room for a busy machine.
  const auto job_with = [](int timeout) {
    return fmt::format("'{}' run{} --set training.rounds=6 --threads 1 --quiet --timeout {} --checkpoint-dir ", resist_bin(),
                       kTiny, timeout);
  };
  const std::string job = job_with(5);
  fs::remove_all(scratch() / "whole");
  fs::remove_all(scratch() / "cut");
  const Result whole = run_resist(fmt::format("emulate {} -- {}whole", cluster, job_with(30)));
  REQUIRE_MESSAGE(whole.code == 0, whole.err);

  // The cut run in the background; the link goes down once round 1's checkpoint is there.
  const fs::path dir = scratch();
  const std::string background = fmt::format(
      "cd '{}' && '{}' emulate {} -- {}cut > cut.out 2> cut.err; echo $? > cut.code", dir.string(), resist_bin(), cluster, job);
  std::thread runner([&] { std::system(background.c_str()); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / "cut/checkpoint.json") && !fs::exists(dir / "cut.code") &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(fs::exists(dir / "cut/checkpoint.json"));
  const std::string prefix = printed_prefix(slurp(dir / "cut.err"));
  // gpu1's link, at the switch (namespace 0): pulled.
  exec::run_command({"ip", "-n", prefix + "0", "link", "set", "l1", "down"});
  const auto pulled = std::chrono::steady_clock::now();
  runner.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - pulled).count();
  const std::string err = slurp(dir / "cut.err");
  MESSAGE("the job ended " << seconds << " s after the link went down:\n" << err);
  CHECK(slurp(dir / "cut.code") == "1\n");
  CHECK(seconds < 5 + 10);  // the time-out, and the time to say why and clean up
  // The host that cannot be reached, named by a rank on the other side of the pulled link (the
  // first to report stops the job).
  CHECK((err.find("rank 1 (10.213.0.2) cannot be reached from rank 0's host") != std::string::npos ||
         err.find("rank 0 (10.213.0.1) cannot be reached from rank 1's host") != std::string::npos));
  CHECK_FALSE(any_namespace_with(prefix));
  // No process left (the pattern's brackets keep pgrep's own shell from matching it).
  CHECK(run_command("pgrep -f '" + (dir / "[c]ut").string() + "'").out.empty());
  const json saved = json::parse(slurp(dir / "cut/checkpoint.json"));
  REQUIRE(saved["round"].get<int>() < 5);

  const Result resumed = run_resist(fmt::format("emulate {} -- {}cut --resume", cluster, job_with(30)));
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(resumed.out.find(fmt::format("(resumed after round {})", saved["round"].get<int>())) != std::string::npos);
  const Result same = run_command(
      "/usr/bin/python3 -c \"import torch; a = torch.load('whole/model.pt'); b = torch.load('cut/model.pt'); "
      "print(sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a))\"");
  REQUIRE_MESSAGE(same.code == 0, same.err);
  CHECK(same.out == "True\n");
}

int main(int argc, char** argv) {
  std::string why;
  if (!exec::can_emulate(why)) {
    std::printf("%s\n", why.c_str());
    std::puts("this process cannot make network namespaces (root, iproute2): the emulated cluster's tests are skipped");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
