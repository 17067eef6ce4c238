// Fuzz target: a measured trace, as `resist calibrate MEASURED` reads it: the simulator's settings
// fitted to it (two simulations per input), and the calibrated scenario written and read back.
#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "sim/calibrate.hpp"
#include "sim_fixture.hpp"

RESIST_FUZZ_TARGET(trace_calibrate) {
  const resist::Scenario& s = resist::fuzz::fixture_scenario();
  return run([&] {
    const std::string source = "fuzz-trace.json";
    const resist::Trace measured = resist::trace_from_json(resist::parse_json_text(text, source), source);
    const resist::Calibration c = resist::calibrate(s, measured, source);
    resist::calibration_text(c);
    resist::calibration_to_json(c).dump();
    const nlohmann::json doc = resist::calibrated_document(s, c.after);
    try {
      resist::parse_scenario(doc, "calibrated.json");
    } catch (const resist::InputError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      resist::fuzz::fail("the calibrated scenario does not load");
    }
  });
}
