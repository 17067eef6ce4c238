// The `resist` front end as a user runs it: exit codes, messages, output files.
#include <doctest/doctest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

using namespace resist::test;
namespace fs = std::filesystem;

TEST_CASE("resist plan on the built-in default prints a table and a comparison") {
  const Result r = run_resist("plan --rounds 2 --compare local_sgd,data_parallel");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("plan: resist on 4 workers, preact_resnet101") != std::string::npos);
  CHECK(r.out.find("comparison:") != std::string::npos);
  CHECK(r.out.find("data_parallel") != std::string::npos);
}

TEST_CASE("resist plan writes JSON atomically to --out") {
  const fs::path out = scratch() / "plan.json";
  fs::remove(out);
  const Result r = run_resist("plan " + (resist::test::source_root() / "scenarios/resist-resnet101-cifar100.json").string() +
                          " --rounds 2 --format json --out plan.json --set strategy.workers=8");
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  const auto j = nlohmann::json::parse(slurp(out));
  CHECK(j["workers"] == 8);
  CHECK(j["rounds"].size() == 2);
  CHECK(j["rounds"][1]["payload_bytes"].get<std::uint64_t>() > 0);
  CHECK(j["rounds"][1]["assignments"].size() == 8);
  for (const auto& entry : fs::directory_iterator(scratch()))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("bad input: exit 2, one message with file and pointer, no output file") {
  const fs::path out = scratch() / "never.json";
  fs::remove(out);
  SUBCASE("a field out of range") {
    write(scratch() / "bad.json", R"({"model": {"arch": "preact_resnet18"},
      "strategy": {"name": "resist", "workers": -3}, "training": {"batch_size": 8, "rounds": 2}})");
    const Result r = run_resist("plan bad.json --out never.json");
    CHECK(r.code == 2);
    CHECK(r.err == "resist: error: bad.json: /strategy/workers: expected an integer >= 1, found -3\n");
  }
  SUBCASE("malformed JSON") {
    write(scratch() / "broken.json", "{\"model\": ");
    const Result r = run_resist("plan broken.json --out never.json");
    CHECK(r.code == 2);
    CHECK(r.err.rfind("resist: error: broken.json: malformed JSON at line 1, column 11", 0) == 0);
  }
  SUBCASE("a missing scenario file") {
    const Result r = run_resist("plan missing.json --out never.json");
    CHECK(r.code == 2);
    CHECK(r.err == "resist: error: missing.json: cannot open file (does it exist?)\n");
  }
  SUBCASE("an override that breaks the scenario") {
    const Result r = run_resist("plan --set strategy.min_depth=30 --out never.json");
    CHECK(r.code == 2);
    CHECK(r.err == "resist: error: <built-in default>: /strategy/min_depth: expected at most 22 (the "
                   "partitionable blocks of preact_resnet101), found 30 (set by --set "
                   "strategy.min_depth=30)\n");
  }
  SUBCASE("an unknown strategy to compare") {
    const Result r = run_resist("plan --compare local_sgd,dp --out never.json");
    CHECK(r.code == 2);
    CHECK(r.err.find("--compare: expected strategies among") != std::string::npos);
  }
  SUBCASE("an unknown option") {
    CHECK(run_resist("plan --bogus").code == 2);
  }
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("resist model") {
  SUBCASE("--list names every architecture") {
    const Result r = run_resist("model --list");
    CHECK(r.code == 0);
    for (const char* name : {"preact_resnet101", "preact_bottleneck_resnet152", "resnet50", "mlp"})
      CHECK(r.out.find(name) != std::string::npos);
  }
  SUBCASE("JSON totals") {
    const Result r = run_resist("model resnet50 --classes 1000 --input 3x224x224 --format json");
    CHECK(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["total_params"] == 25'557'032);
    CHECK(j["total_flops"].get<double>() > 8e9);
    CHECK(j["blocks"].size() == 18);
  }
  SUBCASE("a text table") {
    const Result r = run_resist("model preact_resnet18 --width 0.25 --depths 1,1,3,1");
    CHECK(r.code == 0);
    CHECK(r.out.find("layer3.2") != std::string::npos);
    CHECK(r.out.find("partitioned") != std::string::npos);
  }
  SUBCASE("bad input") {
    CHECK(run_resist("model resnet99").code == 2);
    const Result r = run_resist("model preact_resnet18 --input 3x32");
    CHECK(r.code == 2);
    CHECK(r.err == "resist: error: --input: expected CxHxW such as 3x32x32, found \"3x32\"\n");
    CHECK(run_resist("model preact_resnet18 --depths 1,1").err ==
          "resist: error: --depths: expected 4 stage depths, found 2\n");
    CHECK(run_resist("model").code == 2);
  }
}

TEST_CASE("help and usage") {
  CHECK(run_resist("--help").code == 0);
  CHECK(run_resist("plan --help").out.find("--set") != std::string::npos);
  CHECK(run_resist("").code == 2);
}

TEST_CASE("resist scenarios lists the library; --show prints one") {
  const Result list = run_resist("scenarios");
  CHECK(list.code == 0);
  CHECK(list.out.find("resist-resnet101-imagenet-4x8h100-100g    32 workers on h100x8-4nodes-100g\n") != std::string::npos);
  CHECK(list.out.find("ist-mlp-speech") != std::string::npos);
  CHECK(run_resist("scenarios --list").out == list.out);
  const Result show = run_resist("scenarios --show resist-resnet101-h100x8");
  CHECK(show.code == 0);
  CHECK(show.out == slurp(fs::path(std::getenv("RESIST_SOURCE_ROOT")) / "scenarios/resist-resnet101-h100x8.json"));
  const Result bad = run_resist("scenarios --show nope");
  CHECK(bad.code == 2);
  CHECK(bad.err == "resist: error: --show: no built-in scenario \"nope\" (resist scenarios lists them)\n");
}

#ifdef RESIST_HAVE_SIM
TEST_CASE("every built-in scenario simulates on its cluster, by name") {
  const Result list = run_resist("scenarios");
  REQUIRE(list.code == 0);
  std::istringstream lines(list.out);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == ' ') continue;
    const std::string name = line.substr(0, line.find(' '));
    CAPTURE(name);
    const Result r = run_resist("sim " + name + " --rounds 1 --format json");
    CHECK_MESSAGE(r.code == 0, r.err);
    ++n;
  }
  CHECK(n >= 9);
}

TEST_CASE("resist sim on the built-in default, against other strategies, with a trace") {
  const fs::path trace = scratch() / "trace.json";
  fs::remove(trace);
  const Result r = run_resist("sim --rounds 2 --compare local_sgd --trace trace.json");
  CHECK(r.code == 0);
  CHECK(r.out.find("simulated: resist on 4 workers") != std::string::npos);
  CHECK(r.out.find("\ncompute: V100 roofline, 15.7 TFLOP/s and 900 GB/s memory, x efficiency 0.4\n") != std::string::npos);
  CHECK(r.out.find("x faster") != std::string::npos);
  const auto t = nlohmann::json::parse(slurp(trace));
  CHECK(t["otherData"]["format"] == "resist-trace");
  CHECK(t["otherData"]["source"] == "simulated");
  CHECK(t["traceEvents"].size() > 8);
}

TEST_CASE("resist sim JSON has the fields tools rely on") {
  const Result r = run_resist("sim --rounds 2 --format json --compare local_sgd,data_parallel");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["strategies"].size() == 3);
  for (const auto& s : j["strategies"]) {
    CHECK(s["total_time_s"].get<double>() > 0);
    CHECK(s["compute"].get<std::string>().rfind("V100 roofline", 0) == 0);
    CHECK(s["rounds"][0].contains("time_s"));
    CHECK(s["rounds"][0].contains("compute_s"));
    CHECK(s["rounds"][0].contains("comm_s"));
    CHECK(s["rounds"][0].contains("payload_bytes"));
    CHECK(s["rounds"][0].contains("wire_bytes"));
  }
  CHECK(j["strategies"][1]["speedup_vs_local_sgd"] == 1.0);
}

TEST_CASE("resist sim bad input: exit 2, no trace file") {
  const fs::path trace = scratch() / "never-trace.json";
  fs::remove(trace);
  SUBCASE("an unknown cluster") {
    const Result r = run_resist("sim --set cluster=dgx9 --trace never-trace.json");
    CHECK(r.code == 2);
    CHECK(r.err.rfind("resist: error: <built-in default>: /cluster: unknown cluster \"dgx9\"", 0) == 0);
  }
  SUBCASE("a missing cluster file, relative to the scenario") {
    write(scratch() / "s.json", R"({"cluster": "clusters/none.json", "model": {"arch": "preact_resnet18"},
      "strategy": {"name": "resist"}, "training": {"batch_size": 8, "rounds": 2}})");
    const Result r = run_resist("sim s.json --trace never-trace.json");
    CHECK(r.code == 2);
    CHECK(r.err.find("clusters/none.json: cannot open file") != std::string::npos);
  }
  SUBCASE("more workers than GPUs") {
    const Result r = run_resist("sim --set strategy.workers=5 --trace never-trace.json");
    CHECK(r.code == 2);
    CHECK(r.err.find("/strategy/workers: expected at most 4 workers") != std::string::npos);
  }
  SUBCASE("a broken cluster file") {
    write(scratch() / "bad-cluster.json", R"({"shape": "star", "gpu": "H100", "gpus": 4,
      "link": {"bandwidth": "0Gbps", "latency": "1us"}})");
    const Result r = run_resist("sim --set cluster=bad-cluster.json --trace never-trace.json");
    CHECK(r.code == 2);
    CHECK(r.err.find("bad-cluster.json: /link/bandwidth: expected a positive bandwidth") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(trace));
}
TEST_CASE("resist compare: a trace against itself is exact; other plans are refused") {
  REQUIRE(run_resist("sim --rounds 3 --trace cmp-a.json").code == 0);
  REQUIRE(run_resist("sim --rounds 3 --set strategy.name=local_sgd --trace cmp-b.json").code == 0);
  Result r = run_resist("compare cmp-a.json cmp-a.json --format json");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["rounds_compared"] == 3);
  CHECK(j["summary"]["median_round_error"] == 0.0);
  CHECK(j["summary"]["total_error"] == 0.0);
  CHECK(j["kinds"][0]["kind"] == "compute");
  r = run_resist("compare cmp-a.json cmp-a.json");
  CHECK(r.out.find("per-round error: median 0.0%, 90th percentile 0.0%") != std::string::npos);
  r = run_resist("compare cmp-a.json cmp-b.json");
  CHECK(r.code == 2);
  CHECK(r.err == "resist: error: cmp-b.json: /otherData/strategy: not a trace of the same plan as "
                 "cmp-a.json: strategy resist there, local_sgd here\n");
  r = run_resist("compare cmp-a.json missing.json");
  CHECK(r.code == 2);
  CHECK(r.err.find("missing.json: cannot open file") != std::string::npos);
}
TEST_CASE("resist calibrate writes a scenario that loads; bad input leaves nothing") {
  REQUIRE(run_resist("sim --rounds 3 --trace cal-trace.json").code == 0);
  fs::remove(scratch() / "cal.json");
  Result r = run_resist("calibrate cal-trace.json --out cal.json");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("median per-round error") != std::string::npos);
  CHECK(r.out.find("calibrated scenario: cal.json") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp(scratch() / "cal.json"));
  CHECK(doc["sim"].contains("bandwidth_scale"));
  CHECK(run_resist("plan cal.json --rounds 1").code == 0);
  fs::remove(scratch() / "cal2.json");
  r = run_resist("calibrate cal-trace.json --set strategy.name=local_sgd --out cal2.json");
  CHECK(r.code == 2);
  CHECK(r.err.find("cal-trace.json: /otherData/strategy: not a trace of the same plan") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "cal2.json"));
}
#endif
