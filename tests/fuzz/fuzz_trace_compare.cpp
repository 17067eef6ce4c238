// Fuzz target: a measured trace, as `resist compare SIMULATED MEASURED` and `resist report`
// read it: loaded, compared with the fixed simulated trace, printed both ways, and its rounds'
// timing and the rounds a report would simulate for it derived.
#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "sim_fixture.hpp"
#include "trace/trace_compare.hpp"
#include "trace/trace_stats.hpp"

RESIST_FUZZ_TARGET(trace_compare) {
  const resist::Trace& simulated = resist::fuzz::fixture_simulated_trace();
  return run([&] {
    const std::string source = "fuzz-trace.json";
    const resist::Trace measured = resist::trace_from_json(resist::parse_json_text(text, source), source);
    const resist::Comparison c = resist::compare_traces(simulated, "the simulation", measured, source);
    resist::comparison_text(c);
    resist::comparison_to_json(c).dump();  // throws on text that is not UTF-8: must not happen
    resist::round_timings(measured.events, measured.rounds);
    const std::uint64_t rounds = resist::rounds_to_simulate(measured, 1000, source);
    if (rounds == 0 || rounds > 1000) resist::fuzz::fail("rounds to simulate outside 1..total");
  });
}
