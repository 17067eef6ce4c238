// `resist calibrate MEASURED --scenario S --out S-calibrated.json`: fits the simulator's settings
// to a measured run and writes the scenario with them.
#include <memory>

#include "input/json_file.hpp"
#include "sim/calibrate.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct CalibrateOptions {
  std::string measured, scenario, out, format = "text", report;
  std::vector<std::string> sets;
};

}  // namespace

Runner add_calibrate_command(CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* sub = app.add_subcommand(
      "calibrate", "Fit the simulator's settings (efficiency or, with a cost table, its scale; overheads; bandwidth scale) to a "
                   "measured trace of the scenario's plan; write the calibrated scenario");
  sub->add_option("measured", o->measured, "Measured trace (resist run --trace)")->required();
  sub->add_option("--scenario", o->scenario, "Scenario the measured run trained (default: the built-in one)");
  add_set_option(sub, o->sets);  // as for the measured run
  sub->add_option("--out", o->out, "Write the calibrated scenario here (atomically)")->required();
  sub->add_option("--format", o->format, "Format of the printed summary")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const Scenario s = scenario_or_default(o->scenario, o->sets);
    const Calibration c = calibrate(s, load_trace(o->measured), o->measured);
    // Written elsewhere than the scenario: its relative paths must still name the same files.
    nlohmann::json doc = relocated_document(calibrated_document(s, c.after), s, o->out);
    parse_scenario(doc, o->out);  // what is written must load
    write_file_atomically(o->out, doc.dump(2) + "\n");
    emit("", o->format == "json" ? calibration_to_json(c).dump(1) + "\n"
                                 : calibration_text(c) + "calibrated scenario: " + o->out + "\n");
    return 0;
  };
}

}  // namespace resist::cli
