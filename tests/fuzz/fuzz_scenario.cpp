// Fuzz target: a scenario file, as `resist sim|plan|run --scenario FILE` loads it, then what is
// derived from it before any work: the rounds, the network, and the plan's first round.
#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "input/scenario.hpp"
#include "plan/generator.hpp"

RESIST_FUZZ_TARGET(scenario) {
  return run([&] {
    const std::string source = "fuzz-scenario.json";
    const resist::Scenario s = resist::parse_scenario(resist::parse_json_text(text, source), source);
    if (s.total_rounds() == 0) resist::fuzz::fail("a scenario of 0 rounds was accepted");
    const resist::Network net = resist::scenario_network(s);
    if (net.blocks.empty()) resist::fuzz::fail("a network without blocks");
    resist::make_plan(s, 1);
  });
}
