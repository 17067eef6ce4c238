// Real training with `resist run`: worker processes over Gloo on loopback, a narrow, shallow
// pre-activation ResNet on synthetic 8x8 images.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "tests/cli_helpers.hpp"

using namespace resist::test;
using nlohmann::json;

namespace {

const std::string kTiny =
    " --set model.arch=preact_resnet18 --set model.width=0.125 --set model.depths=[1,1,3,1]"
    " --set model.input=[3,8,8] --set model.classes=4 --set strategy.local_iterations=4"
    " --set data.dataset=synthetic"
    " --set training.batch_size=16 --set training.epochs=null --set training.rounds=4";

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
  const Result plan = run_resist("plan --format json" + kTiny + " --set strategy.workers=2");
  REQUIRE(plan.code == 0);
  using Key = std::tuple<std::uint64_t, unsigned, int>;
  auto key = [](const json& round, const json& op, const json& worker) {
    return Key{round.get<std::uint64_t>(), op.get<unsigned>(), worker.get<int>()};
  };
  std::set<Key> expected;
  const json plan_doc = json::parse(plan.out);
  for (const json& round : plan_doc["rounds"])
    for (const json& op : round["ops"]) {
      if (op["kind"] == "compute") expected.insert(key(round["index"], op["id"], op["worker"]));
      else
        for (const json& w : op["group"]) expected.insert(key(round["index"], op["id"], w));
    }
  const fs::path trace = scratch() / "measured.json";
  const Result r = run_resist("run --workers 2 --trace measured.json" + kTiny);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("identical") != std::string::npos);
  CHECK(r.out.find("after 4 of") == std::string::npos);  // the whole (4-round) training ran
  const json t = json::parse(slurp(trace));
  CHECK(t["otherData"]["source"] == "measured");
  std::set<Key> seen;
  for (const json& e : t["traceEvents"])
    if (e["ph"] == "X") CHECK(seen.insert(key(e["args"]["round"], e["args"]["op"], e["tid"])).second);
  CHECK(seen == expected);
}

TEST_CASE("a worker that dies stops the others, with a clear message") {
  ::setenv("RESIST_FAULT", "1:1", 1);
  const Result r = run_resist("run --workers 3 --timeout 60" + kTiny);
  ::unsetenv("RESIST_FAULT");
  CHECK(r.code == 1);
  CHECK(r.err.find("worker 1 failed (exit code 3); the other workers were stopped") != std::string::npos);
}

TEST_CASE("Fashion-MNIST from Debian's package: ResIST learns it") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed; skipped");
    return;
  }
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

TEST_CASE("what the executor cannot train yet is refused before any worker starts") {
  Result r = run_resist("run --workers 2 --set model.arch=resnet18" + kTiny.substr(0, 0));
  CHECK(r.code == 2);
  CHECK(r.err == "resist: error: <built-in default>: /model/arch: the executor builds pre-activation "
                 "ResNets (preact_*) so far, found \"resnet18\"\n");
  r = run_resist("run --set model.arch=mlp --set model.hidden=[8] --set strategy.name=ist");
  CHECK(r.code == 2);
  CHECK(r.err.find("/strategy/name: the executor does not train IST yet") != std::string::npos);
}
