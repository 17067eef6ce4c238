// Memory traffic: the elements each block's layers move (CostCounter's conventions, worked by hand)
// and the bytes a compute op of a plan moves (plan/memory_traffic), which the simulator's roofline
// times at the device memory's bandwidth.
#include <doctest/doctest.h>

#include <algorithm>

#include "model/catalogue.hpp"
#include "model/model_text.hpp"
#include "plan/memory_traffic.hpp"
#include "tests/helpers.hpp"

using namespace resist;

namespace {

const Block& block(const Network& net, const std::string& id) {
  const auto it = std::find_if(net.blocks.begin(), net.blocks.end(), [&](const Block& b) { return b.id == id; });
  REQUIRE(it != net.blocks.end());
  return *it;
}

/// preact ResNet-101 on Fashion-MNIST: the network of the shared H100 traces.
Network resnet101_28() {
  ModelSpec spec;
  spec.arch = "preact_resnet101";
  spec.classes = 10;
  spec.input = {1, 28, 28};
  return build_network(spec);
}

double element_sum(const Plan& plan, const std::vector<BlockIndex>& blocks) {
  double total = 0;
  for (BlockIndex b : blocks) total += static_cast<double>(plan.network.blocks[b].traffic);
  return total;
}

}  // namespace

TEST_CASE("a block's traffic counts each layer's reads and writes over forward and backward") {
  const Network net = resnet101_28();
  // layer3.1, 256 channels at 7x7 (n elements in and out of every layer): BatchNorm 8n, ReLU 5n,
  // 3x3 convolution 3(n + n), BatchNorm 8n, ReLU 5n, convolution 6n, addition 3n: 41n.
  const std::int64_t n = 256 * 7 * 7;
  CHECK(block(net, "layer3.1").traffic == 41 * n);
  CHECK(block(net, "layer1.0").traffic == 41 * 64 * 28 * 28);  // the same layers on 4x the elements
  // layer2.0 halves the map and doubles the channels, with a 1x1 projection: the input's
  // BatchNorm and ReLU (13 n_in), two strided convolutions (2 x 3(n_in + n_out)), then 22 n_out.
  const std::int64_t in = 64 * 28 * 28, out = 128 * 14 * 14;
  CHECK(block(net, "layer2.0").traffic == 19 * in + 28 * out);
  // The head: BatchNorm and ReLU on 512 x 4 x 4, pooling 2(n + 512), linear 3(512 + 10).
  const std::int64_t h = 512 * 4 * 4;
  CHECK(block(net, "fc").traffic == 13 * h + 2 * (h + 512) + 3 * (512 + 10));
  // The first stage's blocks move 4x what the third's do for the same FLOPs: the reason a
  // sub-network that keeps them costs more than its share of the FLOPs.
  CHECK(block(net, "layer1.1").forward_flops == doctest::Approx(block(net, "layer3.1").forward_flops).epsilon(0.01));
}

TEST_CASE("a training op moves its blocks' traffic per sample and its parameters' per iteration") {
  const Plan plan = make_plan(test::scenario({"strategy.name=resist", "strategy.workers=2", "model.arch=preact_resnet18",
                                              "model.width=0.25", "model.depths=[1,1,3,1]", "strategy.local_iterations=5",
                                              "training.batch_size=4", "training.epochs=null", "training.rounds=2"}));
  const Round& round = plan.rounds.at(1);
  int seen = 0;
  for (const Op& op : round.ops) {
    if (op.kind != OpKind::compute) {
      CHECK(op_memory_bytes(plan, round, op) == 0);
      continue;
    }
    const Assignment& a = round.assignments.at(static_cast<std::size_t>(op.group.front()));
    REQUIRE(op.samples == 20);
    const double expected = (element_sum(plan, a.blocks) * 20 + 9.0 * static_cast<double>(a.params) * 5) * 4;  // fp32
    CHECK(op_memory_bytes(plan, round, op) == doctest::Approx(expected).epsilon(1e-12));
    ++seen;
  }
  CHECK(seen == 2);
  SUBCASE("half-precision elements are 2 bytes") {
    const Plan half = make_plan(test::scenario({"strategy.name=local_sgd", "strategy.workers=2", "training.dtype=bf16",
                                                "training.epochs=null", "training.rounds=1"}));
    const Plan full = make_plan(test::scenario({"strategy.name=local_sgd", "strategy.workers=2",
                                                "training.epochs=null", "training.rounds=1"}));
    const Op& h = half.rounds[0].ops[0];
    const Op& f = full.rounds[0].ops[0];
    REQUIRE(h.kind == OpKind::compute);
    CHECK(op_memory_bytes(half, half.rounds[0], h) == doctest::Approx(op_memory_bytes(full, full.rounds[0], f) / 2));
  }
}

TEST_CASE("an IST slice moves its share of the hidden layers' traffic, by FLOPs") {
  const Plan plan = make_plan(test::scenario({"model.arch=mlp", "model.input=[1,8,8]", "model.hidden=[64,64]",
                                              "model.classes=4", "strategy.name=ist", "strategy.workers=4",
                                              "strategy.local_iterations=2", "training.batch_size=8",
                                              "training.epochs=null", "training.rounds=1"}));
  const Round& round = plan.rounds.at(0);
  const Op& op = round.ops.at(0);
  REQUIRE(op.kind == OpKind::compute);
  const Assignment& a = round.assignments.at(static_cast<std::size_t>(op.group.front()));
  REQUIRE_FALSE(a.neurons.empty());
  double flops = 0;
  for (BlockIndex b : a.blocks) flops += plan.network.blocks[b].train_flops();
  const double share = a.flops_per_sample / flops;
  CHECK(share < 0.5);
  const double expected = (element_sum(plan, a.blocks) * share * 16 + 9.0 * static_cast<double>(a.params) * 2) * 4;
  CHECK(op_memory_bytes(plan, round, op) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("resist model shows each block's traffic and the total") {
  const Network net = resnet101_28();
  const nlohmann::json doc = network_json(net);
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < net.blocks.size(); ++i) {
    CHECK(doc["blocks"][i]["traffic"].get<std::int64_t>() == net.blocks[i].traffic);
    sum += net.blocks[i].traffic;
  }
  CHECK(doc["total_traffic"].get<std::int64_t>() == sum);
  const std::string text = network_table(net, Dtype::fp32);
  CHECK(text.find("traffic/smp") != std::string::npos);
  CHECK(text.find("2.06 M") != std::string::npos);  // layer1.0: 41 x 64 x 28 x 28 = 2,057,216
  CHECK(text.find("97.9 MB of memory traffic per sample (fp32)") != std::string::npos);  // 24.5 M elements
}

TEST_CASE("layer-parallel ops: a stage's training leaves its AuxNet's parameters to the AuxNet's own op") {
  const Plan plan = make_plan(test::scenario({"strategy.name=layer_parallel", "strategy.workers=2", "model.arch=preact_resnet18",
                                              "model.width=0.25", "model.depths=[1,1,3,1]", "training.batch_size=8",
                                              "training.epochs=null", "training.rounds=1",
                                              "strategy.layer_parallel.aux_width=8", "strategy.layer_parallel.aux_depth=0"}));
  double traffic = 0, flops = 0;
  for (const Block& b : plan.network.blocks) {
    traffic += static_cast<double>(b.traffic);
    flops += b.train_flops();
  }
  const Round& round = plan.rounds.at(0);
  int train = 0, forward = 0, update = 0;
  for (const Op& op : round.ops) {
    if (op.kind != OpKind::compute) continue;
    const auto w = static_cast<std::size_t>(op.group.front());
    const double aux_params = plan.stages[w].aux ? static_cast<double>(plan.stages[w].aux->params) : 0;
    CAPTURE(w);
    CAPTURE(to_string(op.part));
    double expected = 0;
    if (op.part == ComputePart::train) {
      const Assignment& a = round.assignments.at(w);
      expected = (element_sum(plan, a.blocks) * static_cast<double>(op.samples) +
                  9.0 * (static_cast<double>(a.params) - aux_params) * op.iterations) * 4;
      ++train;
    } else {
      // An AuxNet's layers at the network's bytes per FLOP; its update also steps its parameters.
      const double params = op.part == ComputePart::aux_update ? aux_params : 0;
      expected = (op.flops * traffic / flops + 9.0 * params) * 4;
      ++(op.part == ComputePart::aux_forward ? forward : update);
    }
    CHECK(op_memory_bytes(plan, round, op) == doctest::Approx(expected).epsilon(1e-12));
  }
  CHECK(train == 2);
  CHECK(forward > 0);
  CHECK(update > 0);
}
