// The fixed side of the trace targets: the shipped default scenario cut to a few rounds, and its
// simulated trace (made once per fuzzing process, in SimGrid's own child process).
#pragma once

#include <cstdint>

#include "input/scenario.hpp"
#include "plan/generator.hpp"
#include "sim/simulator.hpp"

namespace resist::fuzz {

inline constexpr std::uint64_t kRounds = 2;

inline const Scenario& fixture_scenario() {
  static const Scenario s = default_scenario({"training.epochs=null", "training.rounds=" + std::to_string(kRounds)});
  return s;
}

inline const Trace& fixture_simulated_trace() {
  static const Trace t = [] {
    const Scenario& s = fixture_scenario();
    return simulate(make_plan(s, kRounds), scenario_cluster(s), s.sim).trace;
  }();
  return t;
}

}  // namespace resist::fuzz
