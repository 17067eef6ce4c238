// `resist sim`: predicted time of a scenario on its cluster, against other strategies.
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "plan/generator.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "sim/sim_text.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct SimOptions {
  std::string scenario;
  std::optional<std::uint64_t> rounds;
  std::string format = "text";
  std::string out;
  std::string trace;
  std::vector<std::string> sets;
  std::string compare;
};

constexpr std::uint64_t kDefaultRounds = 20;

int run_sim(const SimOptions& o) {
  const Scenario scenario = scenario_or_default(o.scenario, o.sets);
  const Cluster cluster = scenario_cluster(scenario);
  std::vector<Prediction> predictions =
      predict_strategies(scenario, cluster, parse_strategy_list(o.compare), o.rounds.value_or(kDefaultRounds));
  const std::string name = cluster.name.empty() ? scenario.cluster : cluster.name;
  std::string text;
  if (o.format == "json") {
    text = predictions_json(predictions, name).dump(1) + "\n";
  } else {
    text = prediction_table(predictions.front(), name);
    if (predictions.size() > 1) text += "\ncomparison:\n" + prediction_comparison(predictions);
  }
  if (!o.trace.empty()) {
    const Trace& t = predictions.front().result.trace;
    write_file_atomically(o.trace, trace_to_json(t.meta, t.events, t.rounds).dump() + "\n");
  }
  emit(o.out, text);
  return 0;
}

}  // namespace

Runner add_sim_command(CLI::App& app) {
  auto o = std::make_shared<SimOptions>();
  CLI::App* sub = app.add_subcommand("sim", "Predict time and bytes of a scenario on its cluster "
                                            "with SimGrid");
  sub->add_option("scenario", o->scenario,
                  "Scenario JSON file (default: the built-in ResIST ResNet-101 CIFAR-100 setup)");
  sub->add_option("--rounds", o->rounds,
                  "Simulate the first N rounds (default 20) and extrapolate to the whole training")
      ->check(CLI::PositiveNumber);
  sub->add_option("--compare", o->compare,
                  "Also simulate these strategies (comma-separated), e.g. local_sgd,data_parallel");
  sub->add_option("--trace", o->trace, "Write the first strategy's trace (Chrome Trace Event JSON)");
  add_output_options(sub, o->format, o->out);
  add_set_option(sub, o->sets);
  return [o] { return run_sim(*o); };
}

}  // namespace resist::cli
