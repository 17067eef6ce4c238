// The global model a run checkpoints, loaded by PyTorch as a user would (python3 + torch,
// torch.load with weights_only=True and with its defaults): names, shapes and types of a PyTorch
// model of the same architecture (tools/resist_pytorch.py), and the same accuracy on held-out data
// as resist measured. Skipped (exit 77) where python3-torch is missing.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/cli_helpers.hpp"

using namespace resist::test;
using nlohmann::json;

namespace {

const char* kPython = "/usr/bin/python3";

/// A run on Fashion-MNIST with a small pre-activation ResNet, checkpointed in `dir`; its report.
json train(const std::string& strategy, const std::string& dir, const std::string& extra = "") {
  const Result r = run_resist(fmt::format(
      "run --format json --quiet --workers 2 --checkpoint-dir {} --set strategy.name={} --set data.dataset=fashion_mnist"
      " --set model.arch=preact_resnet18 --set model.width=0.125 --set model.depths=[1,1,3,1]"
      " --set model.input=[1,28,28] --set model.classes=10 --set strategy.local_iterations=8"
      " --set training.batch_size=32 --set training.epochs=null --set training.rounds=4 {}",
      dir, strategy, extra));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return json::parse(r.out);
}

/// Runs tests/check_pytorch_checkpoint.py on `dir`; its output.
std::string check(const std::string& dir) {
  const std::string root = std::getenv("RESIST_SOURCE_ROOT");
  const Result r = run_command(fmt::format("{} '{}/tests/check_pytorch_checkpoint.py' {} '{}'", kPython, root, dir, root));
  REQUIRE_MESSAGE(r.code == 0, (r.out + r.err));
  return r.out;
}

double accuracy_in(const std::string& out) {
  const auto at = out.find("accuracy ");
  REQUIRE(at != std::string::npos);
  return std::stod(out.substr(at + 9));
}

}  // namespace

TEST_CASE("ResIST's global model: torch.load reads it, a PyTorch model takes it, same accuracy") {
  const json run = train("resist", "resist-ckpt");
  const std::string out = check("resist-ckpt");
  CHECK(out.find("loaded 83 tensors with weights_only=True") != std::string::npos);
  CHECK(out.find("names, shapes and types equal those of the PyTorch model") != std::string::npos);
  // The partitioned blocks' residual branches are scaled at test time (2 workers: by 1/2).
  CHECK(out.find("scale 0.500000") != std::string::npos);
  const double resist_accuracy = run["summary"]["accuracy"].get<double>();
  CHECK(resist_accuracy > 0.3);  // it learnt something: the comparison below means something
  CHECK(accuracy_in(out) == doctest::Approx(resist_accuracy).epsilon(0.0006));  // within a sample of 2,000
}

TEST_CASE("local SGD's global model: same names, same accuracy, no scale") {
  const json run = train("local_sgd", "local-ckpt");
  const std::string out = check("local-ckpt");
  CHECK(out.find("scale 1.000000") != std::string::npos);
  CHECK(accuracy_in(out) == doctest::Approx(run["summary"]["accuracy"].get<double>()).epsilon(0.0006));
}

TEST_CASE("the checker itself fails on a model that is not the PyTorch model's") {
  train("local_sgd", "broken-ckpt");
  // One tensor renamed: the checker must refuse it.
  const Result renamed = run_command(fmt::format(
      "{} -c \"import torch; d = torch.load('broken-ckpt/model.pt'); d['fc.weights'] = d.pop('fc.weight'); "
      "torch.save(d, 'broken-ckpt/model.pt')\"", kPython));
  REQUIRE_MESSAGE(renamed.code == 0, renamed.err);
  const std::string root = std::getenv("RESIST_SOURCE_ROOT");
  const Result r = run_command(fmt::format("{} '{}/tests/check_pytorch_checkpoint.py' broken-ckpt '{}'", kPython, root, root));
  CHECK(r.code != 0);
  CHECK(r.err.find("missing ['fc.weight'], unexpected ['fc.weights']") != std::string::npos);
}

int main(int argc, char** argv) {
  if (std::system(fmt::format("{} -c 'import torch' >/dev/null 2>&1", kPython).c_str()) != 0) {
    std::puts("python3 with torch (python3-torch) is missing: the PyTorch checkpoint tests are skipped");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
