// resist sweep: every row is what resist sim says for its point alone; invalid points are rows
// with their error; shards merge into exactly what one run writes.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "sim/sim_text.hpp"
#include "sim/sweep.hpp"
#include "tests/cli_helpers.hpp"

using namespace resist;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

SweepRequest request(std::vector<std::string> vary) {
  SweepRequest r;
  r.sets = {"training.epochs=null", "training.rounds=40"};
  for (const std::string& v : vary) r.axes.push_back(parse_sweep_axis(v));
  r.rounds = 3;
  r.jobs = 2;
  return r;
}

double mean(const json& rounds, const char* field) {
  double sum = 0;
  for (const json& r : rounds) sum += r[field].get<double>();
  return sum / static_cast<double>(rounds.size());
}

}  // namespace

TEST_CASE("each row is the point's own simulation; an invalid point is a row with its error") {
  const SweepRequest r = request({"strategy.name=resist,local_sgd", "strategy.workers=2,4,8"});
  std::vector<std::uint64_t> seen;
  const json d = run_sweep(r, [&](std::uint64_t done, std::uint64_t all, std::uint64_t) {
    CHECK(all == 6);
    seen.push_back(done);
  });
  CHECK(seen == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  REQUIRE(d["rows"].size() == 6);
  CHECK(d["points"] == 6);
  for (std::uint64_t i = 0; i < 6; ++i) {
    const json& row = d["rows"][i];
    CAPTURE(row.dump());
    CHECK(row["point"] == i);
    std::vector<std::string> sets = r.sets;
    for (const std::string& s : sweep_point(r.axes, i)) sets.push_back(s);
    CHECK(row["settings"]["strategy.workers"] == sweep_point(r.axes, i)[1].substr(17));
    if (i % 3 == 2) {  // 8 workers on the 4-GPU cluster
      CHECK(row["error"].get<std::string>().find("/strategy/workers: expected at most 4 workers") != std::string::npos);
      CHECK_FALSE(row.contains("total_time_s"));
      continue;
    }
    const Scenario s = default_scenario(sets);
    const json p = predictions_json(predict_strategies(s, scenario_cluster(s), {}, 3), "c")["strategies"][0];
    CHECK(row["strategy"] == p["name"]);
    CHECK(row["workers"] == p["workers"]);
    CHECK(row["total_rounds"] == 40);
    CHECK(row["simulated_rounds"] == 3);
    CHECK(row["total_time_s"].get<double>() == doctest::Approx(p["total_time_s"].get<double>()).epsilon(1e-12));
    CHECK(row["time_per_round_s"].get<double>() == doctest::Approx(mean(p["rounds"], "time_s")).epsilon(1e-12));
    CHECK(row["exposed_comm_per_round_s"].get<double>() == doctest::Approx(mean(p["rounds"], "exposed_comm_s")).epsilon(1e-12));
    CHECK(row["wire_gb_per_round"].get<double>() == doctest::Approx(mean(p["rounds"], "wire_bytes") / 1e9).epsilon(1e-12));
  }
  // ResIST against local SGD of the same workers
  CHECK(d["rows"][0]["speedup_vs_local_sgd"].get<double>() ==
        doctest::Approx(d["rows"][3]["total_time_s"].get<double>() / d["rows"][0]["total_time_s"].get<double>()));
  CHECK(d["rows"][1]["speedup_vs_local_sgd"].get<double>() > 1.5);
  CHECK(d["rows"][4]["speedup_vs_local_sgd"] == 1.0);
}

TEST_CASE("a row equals what resist sim prints for that point") {
  const test::Result sweep = test::run_resist(
      "sweep --set training.epochs=null --set training.rounds=40 --rounds 3 --vary strategy.local_iterations=10,50 "
      "--vary strategy.workers=3 --out out");
  REQUIRE_MESSAGE(sweep.code == 0, sweep.err);
  CHECK(sweep.out == "sweep: 2 points, 0 with errors: out/sweep.csv, out/sweep.json\n");
  const json d = read_json_file(test::scratch() / "out/sweep.json");
  const test::Result sim = test::run_resist(
      "sim --set training.epochs=null --set training.rounds=40 --rounds 3 --set strategy.local_iterations=50 "
      "--set strategy.workers=3 --format json");
  REQUIRE(sim.code == 0);
  const json p = json::parse(sim.out)["strategies"][0];
  const json& row = d["rows"][1];
  CHECK(row["settings"] == json{{"strategy.local_iterations", "50"}, {"strategy.workers", "3"}});
  CHECK(row["total_time_s"].get<double>() == doctest::Approx(p["total_time_s"].get<double>()).epsilon(1e-12));
  CHECK(row["compute_per_round_s"].get<double>() == doctest::Approx(mean(p["rounds"], "compute_s")).epsilon(1e-12));
  CHECK(row["payload_gb_per_round"].get<double>() == doctest::Approx(mean(p["rounds"], "payload_bytes") / 1e9).epsilon(1e-12));
  const std::string csv = test::slurp(test::scratch() / "out/sweep.csv");
  CHECK(csv.rfind("point,strategy.local_iterations,strategy.workers,strategy,workers,cluster,total_rounds,"
                  "simulated_rounds,gpus,time_per_round_s,compute_per_round_s,exposed_comm_per_round_s,"
                  "payload_gb_per_round,wire_gb_per_round,total_time_s,speedup_vs_local_sgd,cost,currency,error\n"
                  "0,10,3,resist,3,\"4x V100 on one machine, NVLink (the ResIST paper's setup)\",", 0) == 0);
}

TEST_CASE("cost to train: GPU-hours at the cluster's price, plus the bytes on the wire where priced") {
  test::write(test::scratch() / "priced.json", R"({"shape": "star", "gpu": "H100", "gpus": 4,
    "link": {"bandwidth": "25Gbps", "latency": "5us"},
    "price": {"gpu_hour": 2, "network_gb": 0.5, "currency": "EUR", "as_of": "2026-12"}})");
  test::write(test::scratch() / "unpriced.json", R"({"shape": "star", "gpu": "H100", "gpus": 4,
    "link": {"bandwidth": "25Gbps", "latency": "5us"}})");
  SweepRequest r = request({"cluster=" + (test::scratch() / "priced.json").string() + "," +
                            (test::scratch() / "unpriced.json").string() + ",v100x4-nvlink",
                            "strategy.workers=2,4"});
  const json d = run_sweep(r);
  REQUIRE(d["rows"].size() == 6);
  for (int i : {0, 1}) {
    const json& row = d["rows"][i];
    CAPTURE(row.dump());
    CHECK(row["gpus"] == (i == 0 ? 2 : 4));
    const double expected = row["total_time_s"].get<double>() / 3600 * row["gpus"].get<double>() * 2 +
                            row["wire_gb_per_round"].get<double>() * 40 * 0.5;
    CHECK(row["cost"].get<double>() == doctest::Approx(expected).epsilon(1e-12));
    CHECK(row["currency"] == "EUR");
  }
  CHECK_FALSE(d["rows"][2].contains("cost"));
  CHECK_FALSE(d["rows"][3].contains("currency"));
  // the shipped V100 machine: its dated list price per GPU-hour, nothing for the wire
  CHECK(d["rows"][5]["cost"].get<double>() ==
        doctest::Approx(d["rows"][5]["total_time_s"].get<double>() / 3600 * 4 * 3.06).epsilon(1e-12));
  CHECK(d["rows"][5]["currency"] == "USD");
}

TEST_CASE("three shards merge into what one run writes") {
  SweepRequest r = request({"strategy.name=resist,local_sgd,data_parallel", "strategy.workers=2..4+1"});
  r.sets.push_back("strategy.warmup_rounds=1");
  const json whole = run_sweep(r);
  const fs::path dir = test::scratch() / "shards";
  std::vector<fs::path> parts;
  for (std::uint64_t i = 0; i < 3; ++i) {
    r.shard = {i, 3};
    const json part = run_sweep(r);
    CHECK(part["shard"]["count"] == 3);
    CHECK(part["rows"].size() == 3);
    parts.push_back(dir / std::to_string(i));
    write_sweep(parts.back(), part);
  }
  const json merged = merge_sweeps({parts[2], parts[0], parts[1]});
  CHECK(merged == whole);
  CHECK(sweep_csv(merged) == sweep_csv(whole));
  write_sweep(dir / "whole", whole);
  write_sweep(dir / "merged", merged);
  CHECK(test::slurp(dir / "whole/sweep.json") == test::slurp(dir / "merged/sweep.json"));

  CHECK_THROWS_WITH_AS(merge_sweeps({parts[0], parts[1]}),
                       ((parts[0] / "sweep.json").string() + ": /shard: shard 1/3 of a sweep, but 2 folders given").c_str(), InputError);
  CHECK_THROWS_WITH_AS(merge_sweeps({parts[0], parts[0], parts[1]}),
                       ((parts[0] / "sweep.json").string() + ": /shard/index: shard 1 given twice").c_str(), InputError);
  CHECK_THROWS_AS(merge_sweeps({dir / "whole", parts[0], parts[1]}), InputError);  // not a shard
  r.rounds = 2;
  r.shard = {1, 3};
  write_sweep(dir / "other", run_sweep(r));
  CHECK_THROWS_WITH_AS(merge_sweeps({parts[0], dir / "other", parts[2]}),
                       ((dir / "other/sweep.json").string() + ": a shard of another sweep than " +
                        (parts[0] / "sweep.json").string() + ": scenario, --set, --vary and --rounds must be the same").c_str(),
                       InputError);
  CHECK_THROWS_AS(merge_sweeps({dir / "missing"}), InputError);

  // shards edited by hand or broken: refused with the place, never a library's exception
  const json good = read_json_file(parts[1] / "sweep.json");
  const auto broken = [&](const std::function<void(json&)>& edit) {
    json d = good;
    edit(d);
    fs::create_directories(dir / "broken");
    write_file_atomically(dir / "broken/sweep.json", d.dump());
    try {
      merge_sweeps({parts[0], dir / "broken", parts[2]});
    } catch (const InputError& e) {
      return std::string(e.what()).substr((dir / "broken/sweep.json").string().size() + 2);
    }
    return std::string("accepted");
  };
  CHECK(broken([](json& d) { d["rows"][0]["point"] = "1"; }) == "/rows/0/point: not a point of shard 2/3, or one given twice");
  CHECK(broken([](json& d) { d["rows"][0]["point"] = 10; }) == "/rows/0/point: not a point of shard 2/3, or one given twice");
  CHECK(broken([](json& d) { d["rows"][0]["point"] = 4; }) == "/rows/0/settings: expected the settings of point 4");
  CHECK(broken([](json& d) { d["rows"][0]["settings"]["strategy.workers"] = "9"; }) ==
        "/rows/0/settings: expected the settings of point 1");
  CHECK(broken([](json& d) { d["rows"][0]["total_time_s"] = -1; }) ==
        "/rows/0/total_time_s: expected a field of a sweep's row, of its type");
  CHECK(broken([](json& d) { d["rows"][0]["workers"] = "2"; }) == "/rows/0/workers: expected a field of a sweep's row, of its type");
  CHECK(broken([](json& d) { d["rows"][0]["extra"] = 1; }) == "/rows/0/extra: expected a field of a sweep's row, of its type");
  CHECK(broken([](json& d) { d["rows"][0].erase("wire_gb_per_round"); }) ==
        "/rows/0: expected \"wire_gb_per_round\" in a row without an error");
  CHECK(broken([](json& d) { d["shard"]["index"] = -1; }) == "/shard: expected one shard of a sweep (resist sweep --shard i/n)");
  CHECK(broken([](json& d) { d["rows"] = 3; }) == "/shard: expected one shard of a sweep (resist sweep --shard i/n)");
  CHECK(broken([](json& d) { d["version"] = true; }) == "/format: expected a resist-sweep document of version 1");
  CHECK(broken([](json& d) { d["rows"][0]["speedup_vs_local_sgd"] = 99; }) == "accepted");
  CHECK(merge_sweeps({parts[0], dir / "broken", parts[2]}) == whole);  // the forged speedup is computed again
  // the first shard's header is checked too
  json d = read_json_file(parts[0] / "sweep.json");
  d["axes"][0]["values"][0] = 7;
  fs::create_directories(dir / "bad-header");
  write_file_atomically(dir / "bad-header/sweep.json", d.dump());
  CHECK_THROWS_WITH_AS(merge_sweeps({dir / "bad-header", parts[1], parts[2]}),
                       ((dir / "bad-header/sweep.json").string() + ": /axes/0/values: expected strings").c_str(), InputError);
}

TEST_CASE("bad sweeps are refused before any simulation") {
  const test::Result no_vary = test::run_resist("sweep --out never");
  CHECK(no_vary.code == 2);
  CHECK(no_vary.err == "resist: error: --vary: expected at least one --vary path=value,value,...\n");
  const test::Result bad_base = test::run_resist("sweep --set strategy.workers=0 --vary strategy.name=resist --out never");
  CHECK(bad_base.code == 2);
  CHECK(bad_base.err.find("/strategy/workers") != std::string::npos);
  const test::Result bad_range = test::run_resist("sweep --vary strategy.workers=8..2x2 --out never");
  CHECK(bad_range.code == 2);
  CHECK(bad_range.err == "resist: error: --vary: \"strategy.workers=8..2x2\": \"8..2x2\": the range ends before it starts\n");
  CHECK_FALSE(fs::exists(test::scratch() / "never"));
  fs::create_directories(test::scratch() / "file-parent");
  test::write(test::scratch() / "file-parent/f", "x");
  const test::Result bad_out = test::run_resist("sweep --vary strategy.workers=2 --rounds 1 --out file-parent/f");
  CHECK(bad_out.code == 2);
  CHECK(bad_out.err.find("file-parent/f: cannot make this folder") != std::string::npos);
}
