// Layer-parallel training with AuxNets: stages and their AuxNets from the model catalogue, the
// scenario's settings and their errors, and the plan's per-iteration ops and bytes.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "input/json_file.hpp"
#include "plan/cost_table.hpp"
#include "plan/generator.hpp"
#include "plan/plan_json.hpp"
#include "plan/plan_text.hpp"
#include "plan/round_builder.hpp"
#include "tests/cost_table_helpers.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using nlohmann::json;

namespace {

std::vector<std::string> small(std::vector<std::string> extra) {
  std::vector<std::string> sets{"strategy.name=layer_parallel", "model.arch=preact_resnet18", "model.width=0.25",
                                "model.classes=10", "training.batch_size=32"};
  sets.insert(sets.end(), extra.begin(), extra.end());
  return sets;
}

/// The slowest stage of a split, by the same measure balanced_cuts minimises.
double slowest(const Network& net, const std::vector<std::size_t>& cuts, int width, int depth) {
  double worst = 0;
  for (const Stage& s : make_stages(net, cuts, width, depth))
    worst = std::max(worst, s.block_train_flops(net) + (s.aux ? s.aux->train_flops() : 0));
  return worst;
}

/// Every way to cut `n` blocks into `k` non-empty stages, by brute force.
void all_splits(std::size_t n, std::size_t k, std::size_t from, std::vector<std::size_t>& cuts,
                std::vector<std::vector<std::size_t>>& out) {
  if (cuts.size() + 1 == k) {
    out.push_back(cuts);
    return;
  }
  for (std::size_t c = from; c < n; ++c) {
    cuts.push_back(c);
    all_splits(n, k, c + 1, cuts, out);
    cuts.pop_back();
  }
}

std::string error_of(const std::vector<std::string>& sets) {
  return test::input_error([&] { test::scenario(small(sets)); });
}

}  // namespace

TEST_CASE("an AuxNet maps the image to the cut's tensor, with costs counted layer by layer") {
  const Network net = scenario_network(test::scenario(small({})));
  const std::size_t cut = *net.find("layer2.0");  // takes 16 channels of 32x32 at width 0.25
  const AuxNet a = make_auxnet(net, cut, 8, 1);
  CHECK(a.out_channels == net.blocks[cut].in_channels);
  CHECK(a.out_size == net.blocks[cut].in_size);
  REQUIRE(a.layers.size() == 3);  // no halving: one stride-1 layer, one extra, the output layer
  CHECK(a.layers[0].in_channels == 3);
  CHECK(a.layers[0].stride == 1);
  CHECK_FALSE(a.layers[2].norm_relu);
  // 3->8, 8->8 with BatchNorm each, then 8->16, all 3x3 over 32x32
  CHECK(a.params == 3 * 8 * 9 + 2 * 8 + 8 * 8 * 9 + 2 * 8 + 8 * 16 * 9);
  CHECK(a.forward_flops == doctest::Approx(2.0 * 1024 * (3 * 8 * 9 + 8 * 8 * 9 + 8 * 16 * 9) + 3.0 * 2 * 8 * 1024));  // BatchNorm 2 + ReLU 1 per element, two layers

  const std::size_t deep = *net.find("layer4.0");  // takes layer3's 64 channels of 8x8: two halvings
  const AuxNet b = make_auxnet(net, deep, 8, 0);
  CHECK(b.out_size == net.blocks[deep].in_size);
  int halvings = 0;
  for (const AuxLayer& l : b.layers) halvings += l.stride == 2 ? 1 : 0;
  CHECK((32 >> halvings) == net.blocks[deep].in_size.h);
  CHECK(b.layers.size() == static_cast<std::size_t>(halvings) + 1);
}

TEST_CASE("an AuxNet is refused where halving the image does not reach the cut's resolution") {
  Network net = scenario_network(test::scenario(small({})));
  net.blocks[3].in_size = {5, 5};  // 32 -> 16 -> 8 -> 4 never meets 5
  CHECK_THROWS_WITH_AS(make_auxnet(net, 3, 8, 0), doctest::Contains("5x5"), StageError);
}

TEST_CASE("balanced cuts make the slowest stage as fast as any split can") {
  const Network net = scenario_network(test::scenario(small({})));
  for (int k : {1, 2, 3, 4}) {
    CAPTURE(k);
    const std::vector<std::size_t> cuts = balanced_cuts(net, k, 16, 1);
    REQUIRE(cuts.size() == static_cast<std::size_t>(k - 1));
    CHECK(std::is_sorted(cuts.begin(), cuts.end()));
    std::vector<std::vector<std::size_t>> splits;
    std::vector<std::size_t> scratch;
    all_splits(net.blocks.size(), static_cast<std::size_t>(k), 1, scratch, splits);
    double best = std::numeric_limits<double>::infinity();
    for (const auto& s : splits) best = std::min(best, slowest(net, s, 16, 1));
    CHECK(slowest(net, cuts, 16, 1) == doctest::Approx(best).epsilon(1e-6));
  }
  CHECK_THROWS_AS(balanced_cuts(net, static_cast<int>(net.blocks.size()) + 1, 16, 1), StageError);
  CHECK(balanced_cuts(net, static_cast<int>(net.blocks.size()), 16, 1).size() == net.blocks.size() - 1);
}

TEST_CASE("layer-parallel settings: defaults, given cuts, and errors naming the field") {
  const Scenario s = test::scenario(small({"strategy.workers=3"}));
  CHECK(s.strategy.layer_parallel.method == "penalty");
  CHECK(s.strategy.layer_parallel.aux_width == 32);
  CHECK(s.strategy.layer_parallel.aux_depth == 1);
  CHECK_FALSE(s.strategy.layer_parallel.aux_learning_rate.has_value());
  const Network net = scenario_network(s);
  CHECK(layer_parallel_cuts(s, net) == balanced_cuts(net, 3, 32, 1));
  const Scenario given = test::scenario(small({"strategy.workers=3", R"(strategy.layer_parallel.cuts=["layer2.0","layer4.0"])"}));
  CHECK(layer_parallel_cuts(given, net) == std::vector<std::size_t>{*net.find("layer2.0"), *net.find("layer4.0")});

  CHECK(error_of({"strategy.workers=3", R"(strategy.layer_parallel.cuts=["layer2.0"])"})
            .find("/strategy/layer_parallel/cuts: expected 2 block ids") != std::string::npos);
  CHECK(error_of({"strategy.workers=2", R"(strategy.layer_parallel.cuts=["layer9.0"])"})
            .find("/strategy/layer_parallel/cuts/0: expected a block id of preact_resnet18") != std::string::npos);
  CHECK(error_of({"strategy.workers=2", R"(strategy.layer_parallel.cuts=["conv1"])"})
            .find("/strategy/layer_parallel/cuts/0: the first stage starts at the first block") != std::string::npos);
  CHECK(error_of({"strategy.workers=3", R"(strategy.layer_parallel.cuts=["layer3.0","layer2.0"])"})
            .find("/strategy/layer_parallel/cuts/1: expected blocks in forward order") != std::string::npos);
  CHECK(error_of({"strategy.workers=11"}).find("/strategy/workers: expected at most 10 workers") != std::string::npos);
  CHECK(error_of({"strategy.workers=257", "model.depths=[200,200,200,200]"})
            .find("/strategy/workers: 257 is above the limit of 256 stages") != std::string::npos);
  CHECK(error_of({"strategy.layer_parallel.method=lagrangian"}).find("/strategy/layer_parallel/method") != std::string::npos);
  CHECK(error_of({"strategy.layer_parallel.beta=0"}).find("/strategy/layer_parallel/beta") != std::string::npos);
  CHECK(error_of({"strategy.layer_parallel.aux_width=0"}).find("/strategy/layer_parallel/aux_width") != std::string::npos);
  CHECK(error_of({"model.arch=mlp", "model.hidden=[64]", "model.input=[1,8,8]"}).find("/model/arch: strategy layer_parallel cuts a ResNet") != std::string::npos);
}

TEST_CASE("a layer-parallel round: one batch's tensors each way across every cut, sized by the catalogue") {
  const Scenario s = test::scenario(small({"strategy.workers=3", "training.epochs=2", "data.dataset=fashion_mnist",
                                           "model.input=[1,28,28]"}));
  const Plan plan = make_plan(s, 2);
  CHECK(plan.total_rounds == (2 * 60000 + 31) / 32);  // stages share each batch: rounds are batches
  REQUIRE(plan.stages.size() == 3);
  CHECK_FALSE(plan.stages[0].aux.has_value());
  const Round& r = plan.rounds[1];
  CHECK(r.phase == Phase::layer_parallel);
  // the stages cover the network once, in order, and each block stays with its stage
  std::vector<BlockIndex> covered;
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& blocks = r.assignments[k].blocks;
    covered.insert(covered.end(), blocks.begin(), blocks.end());
    for (BlockIndex b : blocks) CHECK(r.holders_after[b] == static_cast<WorkerId>(k));
  }
  CHECK(covered.size() == plan.network.blocks.size());
  CHECK(std::is_sorted(covered.begin(), covered.end()));

  std::uint64_t sent = 0;
  int aux_forward = 0, aux_update = 0, train = 0;
  for (const Op& op : r.ops) {
    if (op.kind == OpKind::compute) {
      aux_forward += op.part == ComputePart::aux_forward;
      aux_update += op.part == ComputePart::aux_update;
      train += op.part == ComputePart::train;
      for (OpId d : op.deps) CHECK(r.ops[d].has_member(op.group.front()));
      continue;
    }
    REQUIRE(op.kind == OpKind::send);
    const WorkerId later = op.group[1];
    const Block& cut = plan.network.blocks[plan.stages[static_cast<std::size_t>(later)].first];
    CHECK(op.bytes == std::uint64_t{32} * cut.in_channels * cut.in_size.h * cut.in_size.w * 4);
    CHECK(op.root == (op.payload == Payload::aux_output ? later : later - 1));
    sent += op.bytes;
  }
  CHECK(aux_forward == 2);
  CHECK(aux_update == 2);
  CHECK(train == 3);
  CHECK(r.ops.size() == 3 + 2 * 2 + 2 * 2);
  CHECK(r.wire_bytes == sent);
  CHECK(r.payload_bytes == 2 * sent);
  // The stage before a cut trains only once the next stage's AuxNet output is there.
  const Op& first_train = *std::find_if(r.ops.begin(), r.ops.end(), [](const Op& op) {
    return op.kind == OpKind::compute && op.part == ComputePart::train;
  });
  REQUIRE(first_train.deps.size() == 1);
  CHECK(r.ops[first_train.deps[0]].payload == Payload::aux_output);
}

TEST_CASE("one stage is serial training: one op a round, nothing moved") {
  const Plan plan = make_plan(test::scenario(small({"strategy.workers=1"})), 1);
  REQUIRE(plan.rounds[0].ops.size() == 1);
  CHECK(plan.rounds[0].ops[0].part == ComputePart::train);
  CHECK(plan.rounds[0].ops[0].flops == doctest::Approx(full_assignment(plan.network).flops_per_sample * 32));
  CHECK(plan.rounds[0].wire_bytes == 0);
}

TEST_CASE("a layer-parallel plan reads back as written, and a plan with bad cuts is refused") {
  const Plan plan = make_plan(test::scenario(small({"strategy.workers=4"})), 2);
  const json once = plan_to_json(plan);
  CHECK(once.at("layer_parallel").at("cuts").size() == 3);
  const Plan back = plan_from_json(json::parse(once.dump()), "p.json");
  CHECK(plan_to_json(back) == once);
  REQUIRE(back.stages.size() == 4);
  CHECK(back.stages[3].aux->params == plan.stages[3].aux->params);

  json bad = once;
  bad["layer_parallel"]["cuts"][1] = bad["layer_parallel"]["cuts"][0];
  CHECK(test::input_error([&] { plan_from_json(bad, "p.json"); }).find("/layer_parallel/cuts/1") != std::string::npos);
  bad = once;
  bad.erase("layer_parallel");
  CHECK(test::input_error([&] { plan_from_json(bad, "p.json"); }).find("/layer_parallel") != std::string::npos);
}

TEST_CASE("augmented_lagrangian: a multiplier per sample on the stage before each cut, said by the plan") {
  const std::vector<std::string> al = {"strategy.workers=3", "strategy.layer_parallel.method=augmented_lagrangian",
                                       "data.dataset=fashion_mnist", "model.input=[1,28,28]", "model.classes=10"};
  const Plan plan = make_plan(test::scenario(small(al)), 1);
  CHECK(plan.method == "augmented_lagrangian");
  CHECK(plan.multiplier_samples == 60000);
  // the same ops and bytes as the penalty method: the stage before a cut sends z + mu/beta in z's place
  std::vector<std::string> penalty = al;
  penalty[1] = "strategy.layer_parallel.method=penalty";
  const Plan plain = make_plan(test::scenario(small(penalty)), 1);
  CHECK(plain.multiplier_samples == 0);
  CHECK(plan.rounds[0].wire_bytes == plain.rounds[0].wire_bytes);
  CHECK(plan.rounds[0].ops.size() == plain.rounds[0].ops.size());
  const std::string text = plan_table(plan);
  CHECK(text.find("augmented Lagrangian: a multiplier per element of each cut's input for each of 60000 samples") !=
        std::string::npos);
  const double mib = 60000.0 * static_cast<double>(plan.stages[1].aux->output_elements()) * 4 / (1024 * 1024);
  CHECK(text.find(fmt::format("multipliers on worker 0: {:.1f} MiB fp32", mib)) != std::string::npos);
  CHECK(plan_table(plain).find("multiplier") == std::string::npos);

  const json once = plan_to_json(plan);
  CHECK(once["layer_parallel"]["method"] == "augmented_lagrangian");
  CHECK(plan_to_json(plan_from_json(json::parse(once.dump()), "p.json")) == once);
  json bad = once;
  bad["layer_parallel"].erase("multiplier_samples");
  CHECK(test::input_error([&] { plan_from_json(bad, "p.json"); })
            .find("/layer_parallel/multiplier_samples: an augmented_lagrangian plan needs the number of training samples") !=
        std::string::npos);
  bad = plan_to_json(plain);
  bad["layer_parallel"]["multiplier_samples"] = 5;
  CHECK(test::input_error([&] { plan_from_json(bad, "p.json"); })
            .find("/layer_parallel/multiplier_samples: only an augmented_lagrangian plan keeps multipliers") != std::string::npos);
  bad = once;
  bad["layer_parallel"]["method"] = "admm";
  CHECK(test::input_error([&] { plan_from_json(bad, "p.json"); }).find("/layer_parallel/method") != std::string::npos);

  // synthetic data has no fixed samples to keep multipliers for
  CHECK(error_of({"strategy.layer_parallel.method=augmented_lagrangian", "data.dataset=synthetic", "data.train_samples=320"})
            .find("/strategy/layer_parallel/method: augmented_lagrangian keeps a multiplier for every training sample, "
                  "and synthetic data draws new samples every iteration") != std::string::npos);
}

TEST_CASE("a cost table times a stage by its blocks and an AuxNet by its FLOPs at the blocks' rate") {
  const Plan plan = make_plan(test::scenario(small({"strategy.workers=2"})), 1);
  const CostTable table = test::made_up_table(plan);
  const Round& r = plan.rounds[0];
  double block_s = 0, block_flops = 0;
  for (std::size_t b = 0; b < table.blocks.size(); ++b) {
    block_s += table.blocks[b].forward_s + table.blocks[b].backward_s;
    block_flops += plan.network.blocks[b].train_flops() * 32;
  }
  for (const Op& op : r.ops) {
    if (op.kind != OpKind::compute) continue;
    const auto w = static_cast<std::size_t>(op.group.front());
    if (op.part == ComputePart::train) {
      double expected = table.fixed_s;
      for (BlockIndex b : r.assignments[w].blocks)
        expected += table.blocks[b].forward_s + table.blocks[b].backward_s + 1e-9 * static_cast<double>(plan.network.blocks[b].params);
      CHECK(table.op_seconds(plan, r, op) == doctest::Approx(expected));
    } else {
      const double step = op.part == ComputePart::aux_update ? 1e-9 * static_cast<double>(plan.stages[w].aux->params) : 0;
      CHECK(table.op_seconds(plan, r, op) == doctest::Approx(op.flops * block_s / block_flops + step));
    }
  }
}

TEST_CASE("after the last iteration every stage's blocks go to worker 0, which then holds the composed network") {
  const Plan plan = make_plan(test::scenario(small({"strategy.workers=3", "training.epochs=null", "training.rounds=2"})));
  CHECK_FALSE(plan.rounds[0].model_complete_on(0));
  const Round& last = plan.rounds[1];
  CHECK(last.model_complete_on(0));
  std::vector<BlockIndex> gathered;
  for (const Op& op : last.ops)
    if (op.payload == Payload::state) {
      CHECK(op.kind == OpKind::send);
      CHECK(op.group.front() == 0);
      CHECK(op.bytes == state_bytes(plan.network, op.blocks, plan.dtype));
      gathered.insert(gathered.end(), op.blocks.begin(), op.blocks.end());
    }
  std::vector<BlockIndex> later = last.assignments[1].blocks;
  later.insert(later.end(), last.assignments[2].blocks.begin(), last.assignments[2].blocks.end());
  CHECK(gathered == later);
}

TEST_CASE("balance = cost_table cuts where the measured seconds balance, not the FLOPs") {
  CHECK(error_of({"strategy.workers=2", "strategy.layer_parallel.balance=cost_table"})
            .find("/strategy/layer_parallel/balance: \"cost_table\" balances the stages by the seconds of sim.cost_table, "
                  "and the scenario has none") != std::string::npos);
  const Plan by_flops = make_plan(test::scenario(small({"strategy.workers=3"})), 1);
  // Made up: block i takes 3(i + 1) ms, so the late blocks are costlier than their FLOPs say.
  const std::filesystem::path file = test::scratch() / "lp-costs.json";
  write_file_atomically(file, cost_table_to_json(test::made_up_table(by_flops)).dump());
  const Plan by_table = make_plan(test::scenario(small({"strategy.workers=3", "strategy.layer_parallel.balance=cost_table",
                                                        "sim.cost_table=" + file.string()})), 1);
  const CostTable table = load_cost_table(file);
  std::filesystem::remove(file);
  const auto seconds_of = [&](const Plan& p) {  // the slowest stage's blocks, by the table
    double worst = 0;
    for (const Stage& s : p.stages) {
      double t = 0;
      for (std::size_t b = s.first; b < s.end; ++b) t += table.blocks[b].forward_s + table.blocks[b].backward_s;
      worst = std::max(worst, t);
    }
    return worst;
  };
  CHECK(by_table.stages[1].first != by_flops.stages[1].first);
  CHECK(seconds_of(by_table) < seconds_of(by_flops));
  // the AuxNets are tiny here: the table's split is the one that balances its blocks' seconds
  std::vector<double> blocks;
  for (std::size_t b = 0; b < table.blocks.size(); ++b)
    blocks.push_back(table.blocks[b].forward_s + table.blocks[b].backward_s +
                     table.step_s_per_param * static_cast<double>(by_table.network.blocks[b].params));
  double best = std::numeric_limits<double>::infinity();
  std::vector<std::vector<std::size_t>> splits;
  std::vector<std::size_t> scratch;
  all_splits(blocks.size(), 3, 1, scratch, splits);
  for (const auto& cuts : splits) {
    double worst = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
      double t = 0;
      for (std::size_t b = k == 0 ? 0 : cuts[k - 1]; b < (k < cuts.size() ? cuts[k] : blocks.size()); ++b) t += blocks[b];
      worst = std::max(worst, t);
    }
    best = std::min(best, worst);
  }
  CHECK(seconds_of(by_table) <= best * 1.05);
}

TEST_CASE("aux_steps: each AuxNet step after the first is another forward and backward") {
  for (int steps : {1, 3}) {
    const Plan plan = make_plan(test::scenario(small({"strategy.workers=2", "strategy.layer_parallel.aux_steps=" + std::to_string(steps)})), 1);
    CHECK(plan.aux_steps == steps);
    const Op& update = plan.rounds[0].ops.back();
    REQUIRE(update.part == ComputePart::aux_update);
    CHECK(update.flops == doctest::Approx((3.0 * steps - 1) * plan.stages[1].aux->forward_flops * 32));
  }
}

TEST_CASE("serial_epochs: the composed network trains on worker 0 alone after the stages are gathered") {
  const Scenario s = test::scenario(small({"strategy.workers=2", "data.dataset=synthetic", "data.train_samples=320",
                                           "training.epochs=null", "training.rounds=5",
                                           "strategy.layer_parallel.serial_epochs=0.5"}));
  CHECK(s.serial_rounds() == 5);  // half of 320 samples in batches of 32
  const Plan plan = make_plan(s);
  CHECK(plan.total_rounds == 10);
  CHECK(plan.parallel_rounds == 5);
  CHECK(plan.rounds[4].phase == Phase::layer_parallel);
  CHECK(plan.rounds[4].model_complete_on(0));  // gathered at the end of the parallel phase
  const Round& serial = plan.rounds[5];
  CHECK(serial.phase == Phase::serial);
  REQUIRE(serial.ops.size() == 1);
  CHECK(serial.ops[0].group == std::vector<WorkerId>{0});
  CHECK(serial.ops[0].flops == doctest::Approx(full_assignment(plan.network).flops_per_sample * 32));
  CHECK(serial.assignments[1].blocks.empty());
  CHECK(serial.wire_bytes == 0);
  const json once = plan_to_json(plan);
  CHECK(plan_to_json(plan_from_json(json::parse(once.dump()), "p.json")) == once);
  CHECK(error_of({"strategy.layer_parallel.serial_epochs=1", "data.dataset=synthetic", "training.epochs=null",
                  "training.rounds=5"})
            .find("/data/train_samples: required for dataset \"synthetic\" when strategy.layer_parallel.serial_epochs is set") !=
        std::string::npos);
  CHECK(error_of({"strategy.layer_parallel.serial_epochs=1000000", "data.dataset=synthetic", "data.train_samples=1000000000",
                  "training.epochs=null", "training.rounds=5"})
            .find("/strategy/layer_parallel/serial_epochs: 1000000 more epochs of 1000000000 samples make") != std::string::npos);
}
