#include "plan/plan_json.hpp"

#include <fmt/format.h>

#include "model/catalogue.hpp"
#include "plan/embedded.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "plan/plan_check.hpp"
#include "input/schema.hpp"

namespace resist {
namespace {

using nlohmann::json;

json block_names(const Network& net, const std::vector<BlockIndex>& blocks) {
  json out = json::array();
  for (BlockIndex b : blocks) out.push_back(net.blocks[b].id);
  return out;
}

json op_json(const Network& net, const Op& op) {
  json j = {{"id", op.id}, {"kind", to_string(op.kind)}};
  if (op.kind == OpKind::compute) {
    j["worker"] = op.group.front();
    j["iterations"] = op.iterations;
    j["samples"] = op.samples;
    j["flops"] = op.flops;
    j["step_each_iteration"] = op.step_each_iteration;
    j["fresh_optimizer"] = op.fresh_optimizer;
    if (op.part != ComputePart::train) j["part"] = to_string(op.part);
    if (!op.deps.empty()) j["deps"] = op.deps;
    return j;
  }
  j["group"] = op.group;
  if (op.kind != OpKind::allreduce) j["root"] = op.root;
  j["algorithm"] = to_string(op.algorithm);
  j["payload"] = to_string(op.payload);
  j["bytes"] = op.bytes;
  j["blocks"] = block_names(net, op.blocks);
  j["deps"] = op.deps;
  if (op.payload == Payload::gradients) j["step_after"] = op.step_after;
  if (op.payload == Payload::neuron_slices) {
    j["neurons"] = op.neurons;
    j["average_common"] = op.average_common;
  }
  return j;
}

json round_json(const Network& net, const Round& round) {
  json assignments = json::array();
  for (std::size_t w = 0; w < round.assignments.size(); ++w) {
    const Assignment& a = round.assignments[w];
    json j = {{"worker", w}, {"blocks", block_names(net, a.blocks)}, {"params", a.params},
              {"flops_per_sample", a.flops_per_sample}};
    if (!a.neurons.empty()) j["neurons"] = a.neurons;
    assignments.push_back(std::move(j));
  }
  json ops = json::array();
  for (const Op& op : round.ops) ops.push_back(op_json(net, op));
  return {{"index", round.index}, {"phase", to_string(round.phase)},
          {"payload_bytes", round.payload_bytes}, {"wire_bytes", round.wire_bytes},
          {"holders_after", round.holders_after}, {"eval_scale", round.eval_scale},
          {"assignments", std::move(assignments)}, {"ops", std::move(ops)}};
}

const SchemaValidator& plan_validator() {
  static const SchemaValidator validator(
      parse_json_text(plan_schema_text(), "plan.schema.json (built in)"));
  return validator;
}

/// Turns block names back into indices, naming the place of an unknown one.
class Reader {
 public:
  Reader(const Network& net, const std::string& source) : net_(net), source_(source) {}

  std::vector<BlockIndex> blocks(const json& names, const std::string& at) const {
    std::vector<BlockIndex> out;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto found = net_.find(names[i].get<std::string>());
      if (!found)
        throw InputError(source_, fmt::format("{}/{}", at, i),
                         fmt::format("unknown block {} for {}", names[i].dump(), net_.spec.arch));
      out.push_back(static_cast<BlockIndex>(*found));
    }
    return out;
  }

  Op op(const json& j, const std::string& at) const {
    Op op;
    op.id = j.at("id").get<OpId>();
    op.kind = *parse_op_kind(j.at("kind").get<std::string>());
    if (op.kind == OpKind::compute) {
      if (!j.contains("worker")) throw InputError(source_, at, "a compute op needs its \"worker\"");
      op.group = {j.at("worker").get<WorkerId>()};
      op.root = op.group.front();
      op.iterations = j.value("iterations", 0u);
      op.samples = j.value("samples", std::uint64_t{0});
      op.flops = j.value("flops", 0.0);
      op.step_each_iteration = j.value("step_each_iteration", true);
      op.fresh_optimizer = j.value("fresh_optimizer", false);
      op.part = *parse_compute_part(j.value("part", std::string("train")));
      op.deps = j.value("deps", std::vector<OpId>{});
      return op;
    }
    op.group = j.value("group", std::vector<WorkerId>{});
    op.root = j.value("root", -1);
    op.algorithm = *parse_algorithm(j.value("algorithm", std::string("none")));
    op.payload = *parse_payload(j.value("payload", std::string("none")));
    op.bytes = j.value("bytes", std::uint64_t{0});
    if (j.contains("blocks")) op.blocks = blocks(j.at("blocks"), at + "/blocks");
    op.deps = j.value("deps", std::vector<OpId>{});
    op.step_after = j.value("step_after", false);
    op.neurons = j.value("neurons", std::vector<std::vector<std::uint32_t>>{});
    op.average_common = j.value("average_common", false);
    return op;
  }

  Round round(const json& j, const std::string& at) const {
    Round round;
    round.index = j.at("index").get<std::uint64_t>();
    round.phase = *parse_phase(j.at("phase").get<std::string>());
    round.payload_bytes = j.at("payload_bytes").get<std::uint64_t>();
    round.wire_bytes = j.at("wire_bytes").get<std::uint64_t>();
    round.holders_after = j.at("holders_after").get<std::vector<WorkerId>>();
    round.eval_scale = j.at("eval_scale").get<double>();
    const json& as = j.at("assignments");
    for (std::size_t w = 0; w < as.size(); ++w) {
      Assignment a;
      a.blocks = blocks(as[w].at("blocks"), fmt::format("{}/assignments/{}/blocks", at, w));
      a.neurons = as[w].value("neurons", std::vector<std::vector<std::uint32_t>>{});
      a.params = as[w].at("params").get<std::int64_t>();
      a.flops_per_sample = as[w].at("flops_per_sample").get<double>();
      round.assignments.push_back(std::move(a));
    }
    const json& ops = j.at("ops");
    for (std::size_t i = 0; i < ops.size(); ++i)
      round.ops.push_back(op(ops[i], fmt::format("{}/ops/{}", at, i)));
    return round;
  }

 private:
  const Network& net_;
  const std::string& source_;
};

Network plan_network(const json& model, const json& names, const std::string& source) {
  json doc = {{"model", model}, {"strategy", {{"name", "local_sgd"}}},
              {"training", {{"batch_size", 1}, {"rounds", 1}}}};
  Scenario s;
  try {
    s = parse_scenario(doc, source);
  } catch (const InputError& e) {  // report the error inside the plan, not the wrapper
    throw InputError(source, e.pointer(), e.message());
  }
  Network net = scenario_network(s);
  if (names.size() != net.blocks.size())
    throw InputError(source, "/blocks", fmt::format("expected the {} blocks of {}, found {}",
                                                    net.blocks.size(), s.model.arch, names.size()));
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] != net.blocks[i].id)
      throw InputError(source, fmt::format("/blocks/{}", i),
                       fmt::format("expected \"{}\", found {}", net.blocks[i].id, names[i].dump()));
  return net;
}

json model_json(const ModelSpec& spec) {
  json m = {{"arch", spec.arch}, {"classes", spec.classes}, {"input", spec.input},
            {"width", spec.width}};
  if (!spec.depths.empty()) m["depths"] = spec.depths;
  if (!spec.hidden.empty()) m["hidden"] = spec.hidden;
  return m;
}

json layer_parallel_json(const Plan& plan) {
  json cuts = json::array();
  for (std::size_t k = 1; k < plan.stages.size(); ++k) cuts.push_back(plan.network.blocks[plan.stages[k].first].id);
  json lp = {{"cuts", std::move(cuts)}, {"aux_width", plan.aux_width}, {"aux_depth", plan.aux_depth},
             {"aux_steps", plan.aux_steps}, {"parallel_rounds", plan.parallel_rounds}, {"method", plan.method}};
  if (plan.method == "augmented_lagrangian") lp["multiplier_samples"] = plan.multiplier_samples;
  return lp;
}

/// Layer-parallel: the stages from the plan's cuts, with the errors naming the plan's fields.
void read_stages(Plan& plan, const json& doc, const std::string& source) {
  if (plan.strategy != StrategyKind::layer_parallel) return;
  if (!doc.contains("layer_parallel") || !doc["layer_parallel"].is_object())
    throw InputError(source, "/layer_parallel", "a layer_parallel plan needs its cuts and AuxNet shape");
  const json& lp = doc.at("layer_parallel");
  plan.aux_width = lp.at("aux_width").get<int>();
  plan.aux_depth = lp.at("aux_depth").get<int>();
  plan.aux_steps = lp.value("aux_steps", 1);
  plan.parallel_rounds = lp.value("parallel_rounds", plan.total_rounds);
  plan.method = lp.value("method", "penalty");
  if (plan.method == "augmented_lagrangian") {
    if (!lp.contains("multiplier_samples"))
      throw InputError(source, "/layer_parallel/multiplier_samples",
                       "an augmented_lagrangian plan needs the number of training samples its multipliers are kept for");
    plan.multiplier_samples = lp.at("multiplier_samples").get<std::uint64_t>();
  } else if (lp.contains("multiplier_samples")) {
    throw InputError(source, "/layer_parallel/multiplier_samples", "only an augmented_lagrangian plan keeps multipliers");
  }
  if (plan.parallel_rounds > plan.total_rounds)
    throw InputError(source, "/layer_parallel/parallel_rounds",
                     fmt::format("expected at most the {} rounds of the training, found {}", plan.total_rounds, plan.parallel_rounds));
  const Reader reader(plan.network, source);
  const std::vector<BlockIndex> cuts = reader.blocks(lp.at("cuts"), "/layer_parallel/cuts");
  if (cuts.size() + 1 != static_cast<std::size_t>(plan.workers))
    throw InputError(source, "/layer_parallel/cuts",
                     fmt::format("expected {} cuts (one stage per worker), found {}", plan.workers - 1, cuts.size()));
  for (std::size_t i = 0; i < cuts.size(); ++i)
    if (cuts[i] == 0 || (i > 0 && cuts[i] <= cuts[i - 1]))
      throw InputError(source, fmt::format("/layer_parallel/cuts/{}", i), "expected later blocks in forward order");
  try {
    plan.stages = make_stages(plan.network, {cuts.begin(), cuts.end()}, plan.aux_width, plan.aux_depth);
  } catch (const StageError& e) {
    throw InputError(source, "/layer_parallel/cuts", e.what());
  }
}

}  // namespace

json plan_to_json(const Plan& plan) {
  const Network& net = plan.network;
  json rounds = json::array();
  for (const Round& r : plan.rounds) rounds.push_back(round_json(net, r));
  std::vector<BlockIndex> all(net.blocks.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<BlockIndex>(i);
  json out = {{"format", "resist-plan"},
          {"version", Plan::kVersion},
          {"strategy", to_string(plan.strategy)},
          {"workers", plan.workers},
          {"seed", plan.seed},
          {"iterations_per_round", plan.iterations_per_round},
          {"batch_size", plan.batch_size},
          {"dtype", to_string(plan.dtype)},
          {"min_depth", plan.min_depth},
          {"warmup_rounds", plan.warmup_rounds},
          {"collectives", {{"allreduce", to_string(plan.collectives.allreduce)},
                           {"reduce", to_string(plan.collectives.reduce)},
                           {"broadcast", to_string(plan.collectives.broadcast)}}},
          {"model", model_json(net.spec)},
          {"blocks", block_names(net, all)},
          {"total_rounds", plan.total_rounds},
          {"test_scale", plan.test_scale},
          {"payload_bytes", plan.payload_bytes()},
          {"wire_bytes", plan.wire_bytes()},
          {"scenario", plan.scenario},
          {"rounds", std::move(rounds)}};
  if (plan.strategy == StrategyKind::layer_parallel) out["layer_parallel"] = layer_parallel_json(plan);
  return out;
}

Plan plan_from_json(const json& document, const std::string& source) {
  if (document.is_object() && document.contains("version") && document["version"] != Plan::kVersion)
    throw InputError(source, "/version",
                     fmt::format("a plan of version {} (this resist reads version {}): write it again "
                                 "with resist plan --format json", document["version"].dump(), Plan::kVersion));
  const json doc = plan_validator().validate(document, source);
  Plan plan;
  plan.strategy = *parse_strategy(doc.at("strategy").get<std::string>());
  plan.workers = doc.at("workers").get<int>();
  plan.seed = doc.at("seed").get<std::uint64_t>();
  plan.iterations_per_round = doc.at("iterations_per_round").get<int>();
  plan.batch_size = doc.at("batch_size").get<int>();
  plan.dtype = *parse_dtype(doc.at("dtype").get<std::string>());
  plan.min_depth = doc.at("min_depth").get<int>();
  plan.warmup_rounds = doc.at("warmup_rounds").get<int>();
  const json& co = doc.at("collectives");
  plan.collectives = {*parse_algorithm(co.at("allreduce").get<std::string>()),
                      *parse_algorithm(co.at("reduce").get<std::string>()),
                      *parse_algorithm(co.at("broadcast").get<std::string>())};
  plan.network = plan_network(doc.at("model"), doc.at("blocks"), source);
  plan.total_rounds = doc.at("total_rounds").get<std::uint64_t>();
  plan.test_scale = doc.at("test_scale").get<double>();
  plan.scenario = doc.value("scenario", json::object());
  read_stages(plan, doc, source);
  const Reader reader(plan.network, source);
  const json& rounds = doc.at("rounds");
  for (std::size_t r = 0; r < rounds.size(); ++r)
    plan.rounds.push_back(reader.round(rounds[r], fmt::format("/rounds/{}", r)));
  const auto problems = check_plan(plan);
  if (!problems.empty()) throw InputError(source, problems.front().pointer, problems.front().message);
  return plan;
}

}  // namespace resist
