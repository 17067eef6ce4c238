// `resist plan`: a scenario's per-round assignments and communication schedule.
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "plan/generator.hpp"
#include "input/input_error.hpp"
#include "plan/plan_json.hpp"
#include "plan/plan_text.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct PlanOptions {
  std::string scenario;
  std::optional<std::uint64_t> rounds;
  std::string format = "text";
  std::string out;
  std::vector<std::string> sets;
  std::string compare;
};

nlohmann::json comparison_json(const std::vector<Plan>& plans) {
  nlohmann::json out = nlohmann::json::array();
  for (const Plan& p : plans) {
    const TrainingBytes t = training_bytes(p);
    out.push_back({{"strategy", to_string(p.strategy)}, {"total_rounds", p.total_rounds},
                   {"listed_rounds", p.rounds.size()}, {"payload_bytes", p.payload_bytes()},
                   {"wire_bytes", p.wire_bytes()}, {"training_payload_bytes", t.payload},
                   {"training_wire_bytes", t.wire}, {"training_estimated", t.estimated}});
  }
  return out;
}

int run_plan(const PlanOptions& o) {
  const Scenario scenario = scenario_or_default(o.scenario, o.sets);
  std::vector<Plan> plans{make_plan(scenario, o.rounds)};
  for (StrategyKind kind : parse_strategy_list(o.compare))
    if (kind != scenario.strategy.kind) plans.push_back(make_plan(with_strategy(scenario, kind), o.rounds));
  if (o.format == "json") {
    nlohmann::json j = plan_to_json(plans.front());
    if (plans.size() > 1) j["comparison"] = comparison_json(plans);
    emit(o.out, j.dump(1) + "\n");
    return 0;
  }
  std::string text = plan_table(plans.front());
  if (plans.size() > 1) text += "\ncomparison:\n" + strategy_comparison(plans);
  emit(o.out, text);
  return 0;
}

}  // namespace

std::vector<StrategyKind> parse_strategy_list(const std::string& list) {
  std::vector<StrategyKind> out;
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');) {
    const auto kind = parse_strategy(name);
    if (!kind)
      throw InputError("--compare", "",
                       fmt::format("expected strategies among resist, local_sgd, data_parallel, "
                                   "ist, found \"{}\"", name));
    out.push_back(*kind);
  }
  return out;
}

Runner add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* sub = app.add_subcommand("plan", "Per-round block assignments and communication "
                                             "schedule of a scenario");
  sub->add_option("scenario", o->scenario,
                  "Scenario JSON file (default: the built-in ResIST ResNet-101 CIFAR-100 setup)");
  sub->add_option("--rounds", o->rounds, "List only the first N rounds")
      ->check(CLI::PositiveNumber);
  add_output_options(sub, o->format, o->out);
  add_set_option(sub, o->sets);
  sub->add_option("--compare", o->compare,
                  "Also plan these strategies (comma-separated) and compare the bytes moved");
  return [o] { return run_plan(*o); };
}

}  // namespace resist::cli
