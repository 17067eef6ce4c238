// Scenarios: the shipped setup, defaults, --set overrides, and every kind of bad input.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "model/catalogue.hpp"
#include "input/embedded.hpp"
#include "input/json_file.hpp"
#include "input/schema.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using resist::test::input_error;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json minimal() {
  return {{"model", {{"arch", "preact_resnet18"}}},
          {"strategy", {{"name", "resist"}}},
          {"training", {{"batch_size", 32}, {"rounds", 10}}}};
}

std::string parse_error(json doc) {
  return input_error([&] { parse_scenario(std::move(doc), "s.json"); });
}

}  // namespace

TEST_CASE("the shipped paper scenario") {
  const Scenario s = load_scenario(test::source_root() / "scenarios/resist-resnet101-cifar100.json");
  CHECK(s.model.arch == "preact_resnet101");
  CHECK(s.model.classes == 100);
  CHECK(s.strategy.kind == StrategyKind::resist);
  CHECK(s.strategy.workers == 4);
  CHECK(s.strategy.local_iterations == 50);
  CHECK(s.training.batch_size == 128);
  CHECK(s.train_samples == 50'000);
  // 160 epochs of 50,000 images at 4 workers x 128 images x 50 iterations per round.
  CHECK(s.total_rounds() == 313);
  SUBCASE("is the built-in default") {
    CHECK(default_scenario().document == s.document);
  }
}

TEST_CASE("defaults from the schema are filled in") {
  const Scenario s = parse_scenario(minimal(), "s.json");
  CHECK(s.strategy.workers == 4);
  CHECK(s.strategy.local_iterations == 50);
  CHECK(s.strategy.min_depth == 0);
  CHECK(s.model.classes == 10);
  CHECK(s.model.input == std::array<int, 3>{3, 32, 32});
  CHECK(s.training.dtype == Dtype::fp32);
  CHECK(s.collectives.allreduce == Algorithm::ring);
  CHECK(s.dataset == "cifar10");
  CHECK(s.document["collectives"]["reduce"] == "direct");
}

TEST_CASE("rounds from epochs depend on the strategy's iterations per round") {
  const Scenario dp = test::scenario({"strategy.name=data_parallel"});
  CHECK(dp.iterations_per_round() == 1);
  CHECK(dp.total_rounds() == 15'625);  // 160 * 50,000 / (4 * 128)
  const Scenario fixed = test::scenario({"training.epochs=null", "training.rounds=7"});
  CHECK_FALSE(fixed.document["training"].contains("epochs"));  // null removes a field
  CHECK(fixed.total_rounds() == 7);
}

TEST_CASE("optimizer settings and the learning-rate steps") {
  const Scenario plain = parse_scenario(minimal(), "s.json");
  CHECK(plain.training.learning_rate == doctest::Approx(0.05));
  CHECK(plain.training.momentum == doctest::Approx(0.9));
  CHECK(plain.training.weight_decay == doctest::Approx(5e-4));
  CHECK(plain.learning_rate(1'000'000) == doctest::Approx(0.05));  // no steps: constant
  // 4 workers x 128 images x 50 iterations = 25,600 images a round; 50,000 images an epoch.
  const Scenario s = test::scenario({"training.learning_rate=0.1", "training.lr_steps=[80,120]",
                                     "training.lr_gamma=0.5"});
  CHECK(s.epochs_before(0) == 0);
  CHECK(s.epochs_before(125) == doctest::Approx(64.0));
  CHECK(s.learning_rate(0) == doctest::Approx(0.1));
  CHECK(s.learning_rate(156) == doctest::Approx(0.1));    // 79.9 epochs
  CHECK(s.learning_rate(157) == doctest::Approx(0.05));   // 80.4 epochs
  CHECK(s.learning_rate(235) == doctest::Approx(0.025));  // 120.3 epochs
  SUBCASE("steps out of order") {
    json doc = minimal();
    doc["training"]["lr_steps"] = {10, 5};
    CHECK(parse_error(doc) ==
          "s.json: /training/lr_steps/1: expected epochs in ascending order, found 5 after 10");
  }
  SUBCASE("steps need the data set's size") {
    json doc = minimal();
    doc["data"] = {{"dataset", "synthetic"}};
    doc["training"]["lr_steps"] = {10};
    CHECK(parse_error(doc) == "s.json: /data/train_samples: required for dataset \"synthetic\" "
                              "when training.lr_steps is set (steps are in epochs)");
  }
  SUBCASE("a negative rate") {
    json doc = minimal();
    doc["training"]["learning_rate"] = -1;
    CHECK(parse_error(doc) == "s.json: /training/learning_rate: expected a number > 0, found -1");
  }
}

TEST_CASE("--set overrides any field") {
  const Scenario s = test::scenario({"strategy.workers=8", "model.arch=preact_resnet152",
                                     "strategy.name=local_sgd", "model.depths=[1,1,4,1]"});
  CHECK(s.strategy.workers == 8);
  CHECK(s.model.arch == "preact_resnet152");
  CHECK(s.strategy.kind == StrategyKind::local_sgd);
  CHECK(s.model.depths == std::vector<int>{1, 1, 4, 1});
  SUBCASE("array elements by index") {
    CHECK(test::scenario({"model.input.0=1"}).model.input[0] == 1);
  }
  SUBCASE("a value that is not JSON is a string") {
    CHECK(input_error([] { test::scenario({"strategy.name=resit"}); }) ==
          "<built-in default>: /strategy/name: expected one of \"resist\", \"local_sgd\", "
          "\"data_parallel\", \"ist\", \"layer_parallel\", found a string (\"resit\") (set by --set strategy.name=resit)");
  }
  SUBCASE("errors point at the --set that caused them") {
    CHECK(input_error([] { test::scenario({"strategy.workers=0"}); }) ==
          "<built-in default>: /strategy/workers: expected an integer >= 1, found 0 "
          "(set by --set strategy.workers=0)");
  }
  SUBCASE("malformed overrides") {
    CHECK(input_error([] { test::scenario({"strategy.workers"}); }) ==
          "--set: expected dotted.path=value, found \"strategy.workers\"");
    CHECK(input_error([] { test::scenario({"strategy..workers=2"}); }) ==
          "--set: expected dotted.path=value, found \"strategy..workers=2\"");
    CHECK(input_error([] { test::scenario({"model.input.3=1"}); }) ==
          "--set: \"model.input.3=1\": index 3 is past the end of an array of 3");
    CHECK(input_error([] { test::scenario({"strategy.workers.x=1"}); }) ==
          "--set: \"strategy.workers.x=1\": \"x\" is inside an integer (4), which has no fields");
  }
}

TEST_CASE("bad scenarios: one clear message with file and JSON pointer") {
  json doc = minimal();
  SUBCASE("unknown strategy") {
    doc["strategy"]["name"] = "resits";
    CHECK(parse_error(doc) == "s.json: /strategy/name: expected one of \"resist\", \"local_sgd\", "
                              "\"data_parallel\", \"ist\", \"layer_parallel\", found a string (\"resits\")");
  }
  SUBCASE("workers < 1") {
    doc["strategy"]["workers"] = 0;
    CHECK(parse_error(doc) == "s.json: /strategy/workers: expected an integer >= 1, found 0");
  }
  SUBCASE("wrong type") {
    doc["strategy"]["workers"] = "4";
    CHECK(parse_error(doc) ==
          "s.json: /strategy/workers: expected an integer, found a string (\"4\")");
    doc["strategy"]["workers"] = 2.5;
    CHECK(parse_error(doc) == "s.json: /strategy/workers: expected an integer, found a number (2.5)");
  }
  SUBCASE("unknown field, with a suggestion") {
    doc["strategy"]["worker"] = 4;
    CHECK(parse_error(doc) ==
          "s.json: /strategy/worker: unknown field \"worker\" (did you mean \"workers\"?); expected "
          "one of \"layer_parallel\", \"local_iterations\", \"min_depth\", \"name\", \"seed\", \"warmup_rounds\", "
          "\"workers\"");
  }
  SUBCASE("unknown top-level field, no close match") {
    doc["cluster_file"] = "x";
    CHECK(parse_error(doc).rfind("s.json: /cluster_file: unknown field \"cluster_file\"; expected "
                                 "one of", 0) == 0);
  }
  SUBCASE("missing required field") {
    doc["model"].erase("arch");
    CHECK(parse_error(doc) == "s.json: /model: missing required field \"arch\"");
  }
  SUBCASE("min depth larger than the partitioned blocks") {
    doc["strategy"]["min_depth"] = 2;  // preact_resnet18 has one partitionable block
    CHECK(parse_error(doc) == "s.json: /strategy/min_depth: expected at most 1 (the partitionable "
                              "blocks of preact_resnet18), found 2");
  }
  SUBCASE("a depth choice that leaves nothing to partition") {
    doc["model"]["depths"] = {2, 2, 1, 2};
    CHECK(parse_error(doc).rfind("s.json: /model/depths/2: expected at least one non-strided "
                                 "block in the third stage", 0) == 0);
  }
  SUBCASE("epochs and rounds") {
    doc["training"]["epochs"] = 3;
    CHECK(parse_error(doc) == "s.json: /training: expected either \"epochs\" or \"rounds\", "
                              "found both");
    doc["training"].erase("epochs");
    doc["training"].erase("rounds");
    CHECK(parse_error(doc) == "s.json: /training: expected \"epochs\" or \"rounds\", found neither");
  }
  SUBCASE("synthetic data needs a size for epochs") {
    doc["training"].erase("rounds");
    doc["training"]["epochs"] = 1;
    doc["data"] = {{"dataset", "synthetic"}};
    CHECK(parse_error(doc) == "s.json: /data/train_samples: required for dataset \"synthetic\" "
                              "when training.epochs is set");
  }
  SUBCASE("warm-up as long as the training") {
    doc["strategy"]["warmup_rounds"] = 10;
    CHECK(parse_error(doc) == "s.json: /strategy/warmup_rounds: expected fewer warm-up rounds "
                              "than the 10 training rounds, found 10");
  }
  SUBCASE("strategies and models that do not fit") {
    doc["strategy"]["name"] = "ist";
    CHECK(parse_error(doc) == "s.json: /model/arch: strategy ist splits fully connected layers; "
                              "expected \"mlp\", found \"preact_resnet18\"");
    doc["model"] = {{"arch", "mlp"}, {"hidden", {64, 3}}};
    CHECK(parse_error(doc) == "s.json: /model/hidden/1: expected at least one neuron per worker "
                              "(4), found 3");
    doc["strategy"]["name"] = "resist";
    CHECK(parse_error(doc) == "s.json: /model/arch: strategy resist partitions ResNet blocks; "
                              "expected a ResNet, found mlp");
  }
  SUBCASE("model errors carry the model pointer") {
    doc["model"]["hidden"] = {10};
    CHECK(parse_error(doc) == "s.json: /model/hidden: hidden widths apply to mlp only, not "
                              "preact_resnet18");
  }
  SUBCASE("array bounds") {
    doc["model"]["input"] = {3, 32};
    CHECK(parse_error(doc) == "s.json: /model/input: expected at least 3 items, found 2");
    doc["model"]["input"] = {3, 0, 32};
    CHECK(parse_error(doc) == "s.json: /model/input/1: expected an integer >= 1, found 0");
  }
}

TEST_CASE("bad files") {
  const auto dir = test::scratch() / "scenario";
  std::filesystem::create_directories(dir);
  SUBCASE("malformed JSON names line and column") {
    write_file_atomically(dir / "bad.json", "{\n  \"model\": {\"arch\": \"x\",,}\n}\n");
    const std::string e = input_error([&] { load_scenario(dir / "bad.json"); });
    CHECK(e.rfind((dir / "bad.json").string() + ": malformed JSON at line 2, column 25: ", 0) == 0);
  }
  SUBCASE("missing file") {
    CHECK(input_error([&] { load_scenario(dir / "nope.json"); }) ==
          (dir / "nope.json").string() + ": cannot open file (does it exist?)");
  }
  SUBCASE("a directory") {
    CHECK(input_error([&] { load_scenario(dir); }) ==
          dir.string() + ": expected a JSON file, found a directory");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("the schema's architecture list is the catalogue's") {
  const json schema = parse_json_text(scenario_schema_text(), "schema");
  std::vector<std::string> in_schema =
      schema["properties"]["model"]["properties"]["arch"]["enum"].get<std::vector<std::string>>();
  std::vector<std::string> in_catalogue;
  for (const ArchInfo& a : architectures()) in_catalogue.emplace_back(a.name);
  std::sort(in_schema.begin(), in_schema.end());
  std::sort(in_catalogue.begin(), in_catalogue.end());
  CHECK(in_schema == in_catalogue);
}

TEST_CASE("the built-in schema is the shipped file") {
  const json shipped = read_json_file(test::source_root() / "scenarios/scenario.schema.json");
  CHECK(parse_json_text(scenario_schema_text(), "schema") == shipped);
}

TEST_CASE("edit distance") {
  CHECK(edit_distance("worker", "workers") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("numbers no training could use are refused with their limit") {
  json doc = minimal();
  doc["model"]["classes"] = 1000000000;
  CHECK(parse_error(doc) == "s.json: /model/classes: 1000000000 is above the limit of 1000000");
  doc = minimal();
  doc["training"]["batch_size"] = 1000000000;
  CHECK(parse_error(doc) == "s.json: /training/batch_size: 1000000000 is above the limit of 1048576");
  doc = minimal();
  doc["strategy"]["local_iterations"] = 1000000000;
  CHECK(parse_error(doc) == "s.json: /strategy/local_iterations: 1000000000 is above the limit of 1000000");
  doc = minimal();
  doc["training"]["rounds"] = 10000000000;
  CHECK(parse_error(doc) == "s.json: /training/rounds: 10000000000 is above the limit of 1000000000");
}

TEST_CASE("a shared-link efficiency is a share: above 0, at most 1, 1 when not given") {
  CHECK(parse_scenario(minimal(), "s.json").sim.shared_link_efficiency == 1);
  json doc = minimal();
  doc["sim"] = {{"shared_link_efficiency", 0.72}};
  CHECK(parse_scenario(doc, "s.json").sim.shared_link_efficiency == 0.72);
  doc["sim"]["shared_link_efficiency"] = 1.5;
  CHECK(parse_error(doc) == "s.json: /sim/shared_link_efficiency: 1.5 is above the limit of 1");
  doc["sim"]["shared_link_efficiency"] = 0;
  CHECK(parse_error(doc) == "s.json: /sim/shared_link_efficiency: expected a number > 0, found 0");
}

TEST_CASE("training.cuda_graphs is a switch, on when not given") {
  CHECK(parse_scenario(minimal(), "s.json").training.cuda_graphs);
  json doc = minimal();
  doc["training"]["cuda_graphs"] = false;
  CHECK_FALSE(parse_scenario(doc, "s.json").training.cuda_graphs);
  doc["training"]["cuda_graphs"] = "auto";
  CHECK(parse_error(doc) == "s.json: /training/cuda_graphs: expected a boolean, found a string (\"auto\")");
}

TEST_CASE("a training length whose rounds would overflow is refused, not planned as one round") {
  json doc = minimal();
  doc["training"].erase("rounds");
  doc["data"] = {{"dataset", "synthetic"}, {"train_samples", 50000}};
  doc["training"]["epochs"] = 1e308;  // was planned as "rounds: 1"
  CHECK(parse_error(doc) == "s.json: /training/epochs: 1e+308 is above the limit of 1000000");
  doc["training"]["epochs"] = 1000000;
  doc["data"]["train_samples"] = 10000000000;
  doc["training"]["batch_size"] = 1;
  doc["strategy"]["workers"] = 1;
  doc["strategy"]["local_iterations"] = 1;
  CHECK(parse_error(doc) == "s.json: /training/epochs: 1000000 epochs of 10000000000 samples are 10000000000000000 "
                            "rounds, above the limit of 1000000000");
}

TEST_CASE("an input too small for the network's downsampling is refused with the smallest that works") {
  json doc = minimal();
  doc["model"]["input"] = {3, 1, 1};
  CHECK(parse_error(doc) == "s.json: /model/input: 1x1 images are too small for preact_resnet18, which "
                            "downsamples by 8: expected at least 8x8");
  doc["model"]["arch"] = "resnet50";
  doc["model"]["input"] = {3, 16, 64};
  doc["strategy"]["name"] = "local_sgd";
  CHECK(parse_error(doc) == "s.json: /model/input: 16x64 images are too small for resnet50, which downsamples "
                            "by 32: expected at least 32x32");
  doc["model"]["input"] = {3, 32, 32};
  CHECK(parse_error(doc).empty());
}

TEST_CASE("a scenario written elsewhere keeps naming the same cluster, data and cost table files") {
  const fs::path dir = test::scratch() / "relocate";
  fs::create_directories(dir / "a/b/clusters");
  fs::create_directories(dir / "c");
  json doc = minimal();
  doc["cluster"] = "clusters/mine.json";
  doc["data"] = {{"dataset", "cifar10"}, {"path", "../data"}};
  doc["sim"] = {{"cost_table", "costs/h100.json"}};
  std::ofstream(dir / "a/b/s.json") << doc.dump();
  const Scenario s = load_scenario(dir / "a/b/s.json", {});
  CHECK(s.sim.cost_table == (dir / "a/b/costs/h100.json").string());  // resolved against the scenario's folder
  const json moved = relocated_document(s.document, s, dir / "c/out.json");
  CHECK(moved["cluster"] == "../a/b/clusters/mine.json");
  CHECK(moved["data"]["path"] == "../a/data");
  CHECK(moved["sim"]["cost_table"] == "../a/b/costs/h100.json");
  doc["cluster"] = "h100x8-node";  // a built-in name is not a path
  CHECK(relocated_document(doc, s, dir / "c/out.json")["cluster"] == "h100x8-node");
  fs::remove_all(dir);
}

TEST_CASE("the scenario library: every file of scenarios/ is built in, described, and loads by its name") {
  std::set<std::string> files, built_in;
  for (const auto& entry : fs::directory_iterator(test::source_root() / "scenarios"))
    if (entry.path().extension() == ".json" && entry.path().filename() != "scenario.schema.json")
      files.insert(entry.path().stem().string());
  for (const auto& [name, text] : builtin_scenarios()) {
    CAPTURE(name);
    built_in.insert(name);
    const Scenario by_name = scenario_or_default(name, {});
    const Scenario by_file = load_scenario(test::source_root() / "scenarios" / (name + ".json"));
    CHECK(by_name.source == "<built-in " + name + ">");
    CHECK(by_name.document == by_file.document);
    CHECK(by_name.document.value("description", "").size() > 20);
    CHECK(by_name.total_rounds() > 0);
  }
  CHECK(built_in == files);
  CHECK(builtin_scenarios().size() >= 9);
  // --set applies to a built-in one as to a file
  CHECK(scenario_or_default("resist-resnet101-h100x8", {"strategy.workers=2"}).strategy.workers == 2);
  CHECK(input_error([] { scenario_or_default("resist-resnet101-h100x9", {}); })
            .rfind("resist-resnet101-h100x9: no such file, nor a built-in scenario (resist-resnet101-cifar100, ", 0) == 0);
  CHECK(input_error([] { scenario_or_default("missing.json", {}); }).rfind("missing.json: ", 0) == 0);
}

TEST_CASE("simulator routing and all-reduce algorithms: read, defaulted, and refused by name") {
  const Scenario d = test::scenario({});
  CHECK(d.sim.routing == "auto");
  CHECK(d.collectives.allreduce == Algorithm::ring);
  const Scenario s = test::scenario({"sim.routing=flat", "collectives.allreduce=hierarchical_ring"});
  CHECK(s.sim.routing == "flat");
  CHECK(s.collectives.allreduce == Algorithm::hierarchical_ring);
  CHECK(test::scenario({"collectives.allreduce=double_tree"}).collectives.allreduce == Algorithm::double_tree);
  CHECK(test::scenario({"sim.routing=stars"}).sim.routing == "stars");
  CHECK(input_error([] { test::scenario({"sim.routing=zones"}); }).find(
            "/sim/routing: expected one of \"auto\", \"stars\", \"flat\"") != std::string::npos);
  // The new algorithms are all-reduce ones: reduce and broadcast keep direct and tree.
  CHECK(input_error([] { test::scenario({"collectives.reduce=double_tree"}); }).find(
            "/collectives/reduce: expected one of \"direct\", \"tree\"") != std::string::npos);
  CHECK(to_string(Algorithm::hierarchical_ring) == "hierarchical_ring");
  CHECK(parse_algorithm("double_tree") == Algorithm::double_tree);
}
