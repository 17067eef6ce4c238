// Real training with `resist run`: worker processes over Gloo on loopback, a narrow, shallow
// pre-activation ResNet on synthetic 8x8 images.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/net.hpp"
#include "exec/worker_contract.hpp"

#include "tests/cli_helpers.hpp"

using namespace resist::test;
using nlohmann::json;

namespace {

const std::string kTiny = kTinyRun + " --set training.rounds=4";

/// `resist ARGS` with RESIST_FAULT set to `fault` (see exec/fault.hpp).
Result run_resist_with_fault(const std::string& fault, const std::string& args) {
  ::setenv("RESIST_FAULT", fault.c_str(), 1);
  Result r = run_resist(args);
  ::unsetenv("RESIST_FAULT");
  return r;
}

/// Whether this machine has an NVIDIA driver (the no-GPU error paths are checked only without).
bool gpu_driver_present() { return fs::exists("/dev/nvidia0") || fs::exists("/dev/nvidiactl"); }

std::string fmt_round(std::uint64_t saved) { return "(resumed after round " + std::to_string(saved) + ")"; }

using OpKey = std::tuple<std::uint64_t, unsigned, int>;  // round, operation, worker

/// (round, op, worker) of every event the plan's operations should leave in a measured trace.
std::set<OpKey> expected_trace_keys(int workers) {
  const Result plan = run_resist(fmt::format("plan --format json{} --set strategy.workers={}", kTiny, workers));
  REQUIRE(plan.code == 0);
  auto key = [](const json& round, const json& op, const json& worker) {
    return OpKey{round.get<std::uint64_t>(), op.get<unsigned>(), worker.get<int>()};
  };
  std::set<OpKey> expected;
  const json doc = json::parse(plan.out);
  for (const json& round : doc["rounds"])
    for (const json& op : round["ops"]) {
      if (op["kind"] == "compute") expected.insert(key(round["index"], op["id"], op["worker"]));
      else
        for (const json& w : op["group"]) expected.insert(key(round["index"], op["id"], w));
    }
  return expected;
}

/// The measured trace's events as keys; CHECKs that none comes twice and that it says "measured".
std::set<OpKey> trace_keys(const fs::path& file) {
  const json t = json::parse(slurp(file));
  CHECK(t["otherData"]["source"] == "measured");
  std::set<OpKey> seen;
  for (const json& e : t["traceEvents"])
    if (e["ph"] == "X")
      CHECK(seen.insert({e["args"]["round"].get<std::uint64_t>(), e["args"]["op"].get<unsigned>(),
                         e["tid"].get<int>()}).second);
  return seen;
}

json run_json(const std::string& args) {
  const Result r = run_resist("run --format json" + kTiny + " " + args);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return json::parse(r.out)["workers"];
}

}  // namespace

TEST_CASE("ResIST on 3 workers: shared parameters identical after every round, loss falls") {
  const json workers = run_json("--workers 3 --set strategy.min_depth=1");
  REQUIRE(workers.size() == 3);
  for (std::size_t round = 0; round < 4; ++round)
    for (const json& w : workers) CHECK(w["shared_checksum"][round] == workers[0]["shared_checksum"][round]);
  const json& loss = workers[0]["loss"];
  CHECK(loss[3].get<double>() < loss[0].get<double>());
  CHECK(workers[0]["accuracy"].get<double>() > 0.5);  // 4 classes: chance is 0.25
  CHECK(workers[1]["samples"] == 4 * 4 * 16);
}

TEST_CASE("local SGD and data-parallel train too") {
  for (const char* strategy : {"local_sgd", "data_parallel"}) {
    CAPTURE(strategy);
    const json workers = run_json(std::string("--workers 2 --set strategy.name=") + strategy);
    for (std::size_t round = 0; round < 4; ++round)
      CHECK(workers[0]["shared_checksum"][round] == workers[1]["shared_checksum"][round]);
  }
}

TEST_CASE("the measured trace holds one event per plan operation and member") {
  const Result r = run_resist("run --workers 2 --trace measured.json" + kTiny);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("identical") != std::string::npos);
  CHECK(r.out.find("after 4 of") == std::string::npos);  // the whole (4-round) training ran
  CHECK(trace_keys(scratch() / "measured.json") == expected_trace_keys(2));
}

TEST_CASE("under an external launcher each process is one worker; worker 0 reports for all") {
  // Worker 1 as Slurm would start it, worker 0 as torchrun would: the same job either way.
  const resist::exec::HeldPort held;
  const int port = held.port();
  const std::string bin = std::getenv("RESIST_BIN");
  const std::string args = kTiny + " --trace job.json";
  const Result r = run_command(fmt::format(
      "{{ (SLURM_PROCID=1 SLURM_NTASKS=2 SLURM_LOCALID=1 MASTER_PORT={0} '{1}' run{2} >w1.out 2>w1.err; "
      "echo $? >w1.rc) & RANK=0 WORLD_SIZE=2 MASTER_PORT={0} '{1}' run{2}; rc=$?; wait; exit $rc; }}",
      port, bin, args));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(slurp(scratch() / "w1.rc") == "0\n");
  CHECK(slurp(scratch() / "w1.out").empty());  // worker 0 prints and writes the results
  CHECK(r.out.find("     3       ") != std::string::npos);
  CHECK(r.out.find("2 workers trained 512 samples") != std::string::npos);
  CHECK(trace_keys(scratch() / "job.json") == expected_trace_keys(2));

  // The launcher's word and --workers disagree, or a variable is not a rank: exit 2, nothing run.
  Result bad = run_command("RANK=0 WORLD_SIZE=2 '" + bin + "' run --workers 3" + kTiny);
  CHECK(bad.code == 2);
  CHECK(bad.err == "resist: error: --workers: 3 workers asked for, but the torchrun-style launcher "
                   "started 2 processes\n");
  bad = run_command("OMPI_COMM_WORLD_RANK=first OMPI_COMM_WORLD_SIZE=2 '" + bin + "' run" + kTiny);
  CHECK(bad.code == 2);
  CHECK(bad.err == "resist: error: environment: OMPI_COMM_WORLD_RANK: expected an integer from 0 to 1, "
                   "found \"first\"\n");
}

TEST_CASE("under a launcher, a worker whose worker 0 never listens gives up after the time-out, saying so") {
  const resist::exec::HeldPort refused;  // nobody listens there, nor can meanwhile
  const int port = refused.port();
  const std::string bin = std::getenv("RESIST_BIN");
  const auto start = std::chrono::steady_clock::now();
  const Result r = run_command(fmt::format("RANK=1 WORLD_SIZE=2 MASTER_PORT={} '{}' run{} --timeout 2 --quiet", port, bin, kTiny));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find(fmt::format("rendezvous at 127.0.0.1:{} (worker 0's store): refused for the whole time-out, 2 s: "
                               "worker 0 did not start there, or has stopped", port)) != std::string::npos);
  CHECK(r.err.find("resist: failed: worker 1 failed") != std::string::npos);
  CHECK(seconds >= 2);
  CHECK(seconds < 2 + 20);  // once, not the time-out again in c10d's client
}

TEST_CASE("a worker that dies stops the others, with a clear message") {
  const Result r = run_resist_with_fault("1:1", "run --workers 3 --timeout 60" + kTiny);
  CHECK(r.code == 1);
  CHECK(r.err.find("worker 1 failed (exit code 3); the other workers were stopped") != std::string::npos);
}

TEST_CASE("a worker that hangs stops the others after the time-out, naming it") {
  // Worker 1 hangs after round 1; the others give up on their next wait for it (--timeout 3 s), so
  // the whole run ends instead of hanging (the suite's own time limit would catch a hang), saying
  // which worker holds them up.
  const Result r = run_resist_with_fault("1:1:hang", "run --workers 3 --timeout 3" + kTiny);
  CHECK(r.code == 1);
  CHECK(r.err.find("resist-worker 1: RESIST_FAULT: hanging after round 1") != std::string::npos);
  // Workers 0 and 2 both wait for worker 1; whichever gives up first is reported, and the other may be
  // stopped before its own time-out ends (on a loaded machine their waits start apart).
  INFO(r.err);
  const bool waiting_peer_said_so =
      r.err.find("resist-worker 0: failed: Gloo engine, rank 0: all-reduce over the world: ") != std::string::npos ||
      r.err.find("resist-worker 2: failed: Gloo engine, rank 2: all-reduce over the world: ") != std::string::npos;
  CHECK(waiting_peer_said_so);
  CHECK(r.err.find("(waited the time-out, 3 s: a peer died or hangs)") != std::string::npos);
  CHECK(r.err.find("resist-worker 1: failed") == std::string::npos);  // the hanging one is stopped, not blamed
  // Where each worker is, from their probe ports: worker 1 (its fault hangs after round index 1)
  // named as the one behind.
  CHECK(r.err.find("; where the workers are: worker 1 done with round 2, round 3 not begun (for ") != std::string::npos);
  CHECK(r.err.find("workers 0, 2 waiting in round 3's all-reduce (op ") != std::string::npos);
  CHECK(r.err.find("): worker 1 is behind the others\n") != std::string::npos);
  CHECK(r.err.find("the other workers were stopped") != std::string::npos);
  CHECK(r.err.find("Exception raised from") == std::string::npos);  // no LibTorch backtrace
}

TEST_CASE("workers do not outlive resist run") {
  // A long run; once its workers train (a first checkpoint is written), resist run itself is
  // terminated, as a launcher or a batch system would: no worker of it, and none of its files, may
  // be left behind.
  // (Killed before a worker has set itself up, the worker leaves on its own: it checks its parent.)
  fs::remove_all(scratch() / "orphan-check");
  const std::string workers = "pgrep -f \"[r]esist-worker.*resist-run-$parent/\"";  // its options file
  const Result r = run_command(
      "'" + std::string(std::getenv("RESIST_BIN")) + "' run --workers 2 --quiet" + kTiny +
      " --set training.rounds=100000 --set data.train_samples=64 --checkpoint-dir orphan-check & parent=$!; "
      "for i in $(seq 600); do [ -e orphan-check/checkpoint.json ] && break; sleep 0.1; done; "
      "echo started $(" + workers + " | wc -l); kill -TERM $parent; wait $parent; rc=$?; "
      "for i in $(seq 100); do " + workers + " >/dev/null || break; sleep 0.1; done; "
      "echo left $(" + workers + " | wc -l); "
      "[ -e ${TMPDIR:-/tmp}/resist-run-$parent ] && echo its files are left; echo exit $rc; " +
      workers + " >/dev/null && pkill -f \"[r]esist-worker.*resist-run-$parent/\"; true");
  CHECK(r.out == "started 2\nleft 0\nexit 143\n");  // and it died of the signal (128 + 15)
  fs::remove_all(scratch() / "orphan-check");
}

TEST_CASE("a hang-up that the caller ignores (nohup) does not stop resist run") {
  // SIGHUP ignored before resist run starts, as nohup does; sent once the workers train.
  fs::remove_all(scratch() / "nohup-check");
  const Result r = run_command(
      "(trap '' HUP; exec '" + std::string(std::getenv("RESIST_BIN")) + "' run --workers 2 --quiet" + kTiny +
      " --set training.rounds=40 --checkpoint-dir nohup-check) & parent=$!; "
      "for i in $(seq 600); do [ -e nohup-check/checkpoint.json ] && break; sleep 0.1; done; "
      "kill -HUP $parent; wait $parent; echo exit $?");
  CHECK(r.out.find("exit 0\n") != std::string::npos);
  CHECK(r.out.find("accuracy of the global model") != std::string::npos);
  fs::remove_all(scratch() / "nohup-check");
}

TEST_CASE("a run killed and resumed ends with the same model as an uninterrupted run") {
  const std::string resist = kTiny + " --workers 3 --set strategy.min_depth=1 --checkpoint-dir ";
  fs::remove_all(scratch() / "whole");
  fs::remove_all(scratch() / "cut");
  Result whole = run_resist("run" + resist + "whole");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  CHECK(whole.out.find("global model (PyTorch state_dict, torch.load): whole/model.pt") != std::string::npos);
  CHECK(json::parse(slurp(scratch() / "whole/checkpoint.json"))["round"] == 3);
  CHECK(fs::exists(scratch() / "whole/round-3/rank2.pt"));
  CHECK_FALSE(fs::exists(scratch() / "whole/round-2"));  // only the last complete round is kept

  const Result cut = run_resist_with_fault("1:1", "run" + resist + "cut");
  REQUIRE(cut.code == 1);
  const std::uint64_t saved = json::parse(slurp(scratch() / "cut/checkpoint.json"))["round"].get<std::uint64_t>();
  CHECK(saved <= 1);
  const Result resumed = run_resist("run" + resist + "cut --resume");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(resumed.out.find(fmt_round(saved)) != std::string::npos);
  // Python's torch.load reads both files, and every tensor of the two models is equal.
  const Result same = run_command(
      "/usr/bin/python3 -c \"import torch; a = torch.load('whole/model.pt'); b = torch.load('cut/model.pt'); "
      "print(len(a), sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a))\"");
  REQUIRE_MESSAGE(same.code == 0, same.err);
  // A complete state_dict: 44 parameters, 26 running statistics and 13 BatchNorm counters.
  CHECK(same.out == "83 True\n");
}

TEST_CASE("resuming needs a checkpoint of the same scenario") {
  fs::remove_all(scratch() / "none");
  Result r = run_resist("run" + kTiny + " --workers 2 --checkpoint-dir none --resume");
  CHECK(r.code == 2);
  CHECK(r.err == "resist: error: none/checkpoint.json: no checkpoint to resume from (expected the "
                 "manifest a run with --checkpoint-dir writes after each round)\n");
  fs::remove_all(scratch() / "other");
  r = run_resist("run" + kTiny + " --workers 2 --checkpoint-dir other --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.empty());  // --quiet: no progress lines
  r = run_resist("run" + kTiny + " --workers 2 --checkpoint-dir other --resume --set training.batch_size=8");
  CHECK(r.code == 2);
  CHECK(r.err == "resist: error: other/checkpoint.json: /scenario/training/batch_size: the checkpoint "
                 "is from a different scenario: an integer (16) there, an integer (8) now; resume with "
                 "the scenario and --set options of the original run\n");
  r = run_resist("run --resume" + kTiny);
  CHECK(r.code != 0);
  CHECK(r.err.find("--resume requires --checkpoint-dir") != std::string::npos);
}

TEST_CASE("progress: one plain line per round when standard error is not a terminal") {
  const Result r = run_resist("run --workers 2" + kTiny);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.err.find("round 1/4  loss ") != std::string::npos);
  CHECK(r.err.find("round 4/4  loss ") != std::string::npos);
  CHECK(r.err.find("ETA 0 s\n") != std::string::npos);
  CHECK(r.err.find('\r') == std::string::npos);
}

TEST_CASE("--eval-every: accuracy of the global model after chosen rounds") {
  fs::remove_all(scratch() / "eval");
  json w = run_json("--workers 3 --set strategy.min_depth=1 --eval-every 2 --checkpoint-dir eval");
  json ev = w[0]["evaluations"];
  REQUIRE(ev.size() == 2);  // after round 1 (assembled from the checkpoint) and the final one
  CHECK(ev[0][0] == 1);
  CHECK(ev[1][0] == 3);
  CHECK(ev[0][1].get<double>() > 0.25);
  const Result r = run_resist("run --format json --workers 3 --set strategy.min_depth=1 --eval-every 2" + kTiny);
  REQUIRE(r.code == 0);
  CHECK(r.err.find("give --checkpoint-dir to assemble it") != std::string::npos);
  CHECK(json::parse(r.out)["workers"][0]["evaluations"].size() == 1);
  w = run_json("--workers 2 --set strategy.name=local_sgd --eval-every 1");
  CHECK(w[0]["evaluations"].size() == 4);  // worker 0 holds the global model after every round
}

TEST_CASE("start-up and evaluation are reported apart from training") {
  const Result r = run_resist("run --format json --workers 2 --eval-every 2 --set strategy.name=local_sgd" + kTiny);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json doc = json::parse(r.out);
  const json& s = doc["summary"];
  MESSAGE("start-up " << s["setup_s"] << " s, evaluation " << s["evaluation_s"] << " s, training " << s["seconds"] << " s");
  CHECK(s["setup_s"].get<double>() > 0);
  CHECK(s["setup_s"].get<double>() < 120);
  // Two evaluations (after rounds 1 and 3) on worker 0, none on worker 1.
  CHECK(s["evaluation_s"].get<double>() > 0);
  CHECK(doc["workers"][0]["evaluation_seconds"] == s["evaluation_s"]);
  CHECK(doc["workers"][1]["evaluation_seconds"] == 0);
  for (const json& w : doc["workers"]) CHECK(w["setup_seconds"].get<double>() <= s["setup_s"].get<double>());
  const Result text = run_resist("run --workers 2 --quiet" + kTiny);
  REQUIRE(text.code == 0);
  CHECK(text.out.find("outside training: start-up ") != std::string::npos);
}

TEST_CASE("the optimizer settings reach the workers") {
  const json base = run_json("--workers 2");
  const json slow = run_json("--workers 2 --set training.learning_rate=0.001");
  const json steps = run_json("--workers 2 --set training.learning_rate=0.001 --set data.train_samples=128"
                              " --set training.lr_steps=[1] --set training.lr_gamma=50");
  // 128 samples an epoch, 2 x 16 x 4 = 128 a round: from round 1 on the rate is 0.001 x 50.
  CHECK(slow[0]["loss"][3].get<double>() > base[0]["loss"][3].get<double>() + 0.1);
  CHECK(steps[0]["loss"][0] == slow[0]["loss"][0]);  // round 0 trains at the same rate
  CHECK(steps[0]["loss"][3].get<double>() < slow[0]["loss"][3].get<double>() - 0.1);
}

TEST_CASE("--backend nccl without a GPU: a clear error, not a hang") {
  if (gpu_driver_present()) {
    MESSAGE("a GPU driver is present; this checks machines without one");
    return;
  }
  const Result r = run_resist("run --workers 2 --backend nccl --timeout 60" + kTiny);
  CHECK(r.code == 1);
  const bool built_with_nccl = r.err.find("built without NCCL") == std::string::npos;
  if (built_with_nccl) CHECK(r.err.find("NCCL engine: no CUDA device here") != std::string::npos);
  CHECK(r.err.find("the other workers were stopped") != std::string::npos);
}

TEST_CASE("--device cuda where LibTorch sees no GPU: a clear error") {
  if (gpu_driver_present()) {
    MESSAGE("a GPU driver is present; this checks machines without one");
    return;
  }
  const Result r = run_resist("run --workers 2 --device cuda --timeout 60" + kTiny);
  CHECK(r.code == 1);
  CHECK(r.err.find("--device cuda: this LibTorch sees no GPU") != std::string::npos);
  CHECK(r.err.find("-Dlibtorch=FOLDER") != std::string::npos);
  CHECK(run_resist("run --workers 2 --device tpu" + kTiny).code == 2);  // not a device resist knows
}

TEST_CASE("Fashion-MNIST from Debian's package: ResIST learns it") {
  if (!have_fashion_mnist()) return;
  const Result r = run_resist(
      "run --workers 2 --format json --set data.dataset=fashion_mnist --set model.input=[1,28,28]"
      " --set model.classes=10 --set model.arch=preact_resnet18 --set model.width=0.125"
      " --set model.depths=[1,1,3,1] --set strategy.local_iterations=10 --set training.batch_size=32"
      " --set training.epochs=null --set training.rounds=6");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json w = json::parse(r.out)["workers"];
  CHECK(w[0]["loss"][5].get<double>() < w[0]["loss"][0].get<double>());
  CHECK(w[0]["accuracy"].get<double>() > 0.4);  // ten classes: chance is 0.1
}

TEST_CASE("data that does not fit is refused before any worker starts") {
  Result r = run_resist("run --workers 2 --set data.dataset=fashion_mnist" + kTiny.substr(0, kTiny.find(" --set data.")));
  CHECK(r.code == 2);
  CHECK(r.err.find("/model/input: dataset fashion_mnist has 1x28x28 images") != std::string::npos);
  r = run_resist("run --workers 2 --set data.dataset=cifar10 --set data.path=/nonexistent");
  CHECK(r.code == 2);
  CHECK(r.err.find("/nonexistent/data_batch_1.bin: cannot open file") != std::string::npos);
}

TEST_CASE("what the executor cannot train is refused before any worker starts") {
  const Result r = run_resist("run --workers 2 --set model.arch=resnet18" + kTiny.substr(0, 0));
  CHECK(r.code == 2);
  CHECK(r.err == "resist: error: <built-in default>: /model/arch: the executor builds pre-activation "
                 "ResNets (preact_*) and mlp, found \"resnet18\"\n");
}

TEST_CASE("IST trains slices of an MLP's hidden neurons on 3 workers") {
  const std::string mlp = " --set model.arch=mlp --set model.hidden=[48,48] --set model.input=[3,8,8]"
                          " --set model.classes=4 --set data.dataset=synthetic --set strategy.local_iterations=4"
                          " --set training.batch_size=16 --set training.epochs=null --set training.rounds=6";
  const Result r = run_resist("run --workers 3 --format json --set strategy.name=ist --trace ist.json" + mlp);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json w = json::parse(r.out)["workers"];
  CHECK(w[0]["shared_checksum"][0].is_null());  // no parameters are kept identical everywhere
  CHECK(w[0]["loss"][5].get<double>() < w[0]["loss"][0].get<double>());
  CHECK(w[0]["accuracy"].get<double>() > 0.5);  // 4 classes: chance is 0.25
  // One trace event per plan operation and member: 3 computes, 2 gathers, 2 scatters (x2 members)
  // in every round but the last, which has no scatter.
  const json t = json::parse(slurp(scratch() / "ist.json"));
  std::size_t events = 0;
  for (const json& e : t["traceEvents"]) events += e["ph"] == "X";
  CHECK(events == 5 * (3 + 4 + 4) + (3 + 4));
  const Result text = run_resist("run --workers 3 --quiet --set strategy.name=ist" + mlp);
  CHECK(text.out.find("none (IST, layer-parallel)") != std::string::npos);
}

TEST_CASE("resist-worker resolves the standard library before LibTorch's copies of it") {
  // A PyTorch wheel's libtorch.so exports std::filesystem symbols; libstdc++ must come first among
  // the libraries the worker needs, or our calls bind to LibTorch's copy (a crash was seen).
  const std::string worker = fs::path(std::getenv("RESIST_BIN")).parent_path() / "resist-worker";
  const Result r = run_command("readelf -d '" + worker + "' | grep NEEDED");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto stdcxx = r.out.find("libstdc++");
  const auto torch = std::min(r.out.find("libtorch"), r.out.find("libc10"));
  REQUIRE(stdcxx != std::string::npos);
  REQUIRE(torch != std::string::npos);
  CHECK(stdcxx < torch);
}

TEST_CASE("the report a worker writes reads back equal through the typed contract") {
  // resist-worker run by hand, as resist run starts it: its options as a document, its place in
  // the job from the launcher's variables.
  resist::exec::WorkerOptions o;
  o.sets = {"model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,3,1]", "model.input=[3,8,8]",
            "model.classes=4", "strategy.local_iterations=2", "data.dataset=synthetic", "training.batch_size=8",
            "training.epochs=null", "training.rounds=2", "strategy.workers=1"};
  write(scratch() / "options.json", to_json(o).dump());
  const std::string worker = fs::path(std::getenv("RESIST_BIN")).parent_path() / "resist-worker";
  const resist::exec::HeldPort held;
  const Result r = run_command(fmt::format("RANK=0 WORLD_SIZE=1 MASTER_PORT={} '{}' --options options.json --report report.json",
                                           held.port(), worker));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json written = json::parse(slurp(scratch() / "report.json"));
  const resist::exec::WorkerReport report = resist::exec::worker_report_from_json(written, "report.json");
  CHECK(to_json(report) == written);
  CHECK(written["version"] == resist::exec::WorkerReport::kVersion);
  CHECK(report.loss.size() == 2);
  CHECK(report.accuracy.has_value());
  // A bad options document is the worker's error, naming the document and the field.
  write(scratch() / "bad-options.json", R"({"version": 1})");
  const Result bad = run_command(fmt::format("RANK=0 WORLD_SIZE=1 '{}' --options bad-options.json --report r.json", worker));
  CHECK(bad.code == 2);
  CHECK(bad.err == "resist-worker 0: error: bad-options.json: /scenario: missing\n");
}
