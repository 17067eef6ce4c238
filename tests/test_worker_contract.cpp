// The documents resist run and resist-worker exchange: options and report read back equal, and a
// document of another version or with a missing field is refused naming the document and field.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "exec/worker_contract.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using exec::WorkerOptions;
using exec::WorkerReport;
using nlohmann::json;

namespace {

WorkerOptions some_options() {
  WorkerOptions o;
  o.scenario = "/tmp/s.json";
  o.sets = {"strategy.workers=3", "model.depths=[1,1,3,1]"};
  o.rank = 2;
  o.world = 3;
  o.local_rank = 1;
  o.master_addr = "10.0.0.1";
  o.master_port = 1234;
  o.t0 = 12345.678;
  o.threads = 4;
  o.rounds = 7;
  o.timeout_s = 30;
  o.checkpoint_dir = "/tmp/ck";
  o.resume = true;
  o.progress = true;
  o.eval_every = 2;
  o.backend = "nccl";
  o.device = "cuda";
  o.bind_host = "node1";
  o.gather_reports = true;
  return o;
}

WorkerReport some_report(int rank) {
  WorkerReport r;
  r.rank = rank;
  r.first_round = 2;
  r.loss = {2.5, 1.25};
  r.shared_checksum = {3.5, std::nullopt};
  r.samples = 640;
  r.seconds = 1.5;
  r.setup_seconds = 2.25;
  r.evaluation_seconds = 0.75;
  r.rounds_run = 4;
  r.total_rounds = 10;
  r.accuracy = 0.875;
  r.evaluations = {{1, 0.5}, {3, 0.875}};
  r.trace = {{"traceEvents", json::array()}};
  return r;
}

}  // namespace

TEST_CASE("worker options read back equal") {
  const WorkerOptions o = some_options();
  CHECK(exec::worker_options_from_json(to_json(o), "options.json") == o);
  CHECK(exec::worker_options_from_json(to_json(WorkerOptions{}), "options.json") == WorkerOptions{});
  CHECK(to_json(o)["version"] == WorkerOptions::kVersion);
}

TEST_CASE("a worker report, with its peers, reads back equal") {
  WorkerReport r = some_report(0);
  r.peers = {some_report(1), some_report(2)};
  r.peers[1].accuracy.reset();
  CHECK(exec::worker_report_from_json(to_json(r), "rank0.json") == r);
  // Through text, as the file between the processes carries it.
  CHECK(exec::worker_report_from_json(json::parse(to_json(r).dump()), "rank0.json") == r);
}

TEST_CASE("another version, a missing field or a wrong type is refused, naming document and field") {
  json j = to_json(some_options());
  j["version"] = 99;
  CHECK(test::input_error([&] { exec::worker_options_from_json(j, "options.json"); }) ==
        "options.json: /version: expected a worker options document of version 1, found 99");
  j = to_json(some_options());
  j.erase("threads");
  CHECK(test::input_error([&] { exec::worker_options_from_json(j, "options.json"); }) ==
        "options.json: /threads: missing");
  j = to_json(some_options());
  j["threads"] = "four";
  CHECK(test::input_error([&] { exec::worker_options_from_json(j, "options.json"); }) ==
        "options.json: /threads: unexpected value \"four\"");
  json report = to_json(some_report(1));
  report.erase("version");
  CHECK(test::input_error([&] { exec::worker_report_from_json(report, "rank1.json"); }) ==
        "rank1.json: /version: expected a worker report of version 1, found none");
  CHECK(test::input_error([&] { exec::worker_report_from_json(json::array(), "rank1.json"); }) ==
        "rank1.json: expected a worker report (a JSON object)");
}
