// `resist`: plan, simulate, run and compare independent subnetwork training.
#include <cstdio>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "tools/commands.hpp"

namespace resist::cli {

void add_set_option(CLI::App* sub, std::vector<std::string>& sets) {
  sub->add_option("--set", sets, "Override a scenario field: dotted.path=value; null removes it "
                                 "(repeatable)")
      ->allow_extra_args(false);
}

void add_output_options(CLI::App* sub, std::string& format, std::string& out) {
  sub->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--out", out, "Write to this file (atomically) instead of standard output");
}

void emit(const std::string& out, const std::string& text) {
  if (out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  write_file_atomically(out, text);
}

}  // namespace resist::cli

namespace {

/// `resist emulate CLUSTER [OPTIONS] -- COMMAND...`: COMMAND's words are its own, not options; they
/// are taken off argv (which then ends before `--`).
void take_emulated_command(int& argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "emulate") return;
  for (int i = 2; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") {
      resist::cli::emulated_command.assign(argv + i + 1, argv + argc);
      argc = i;
      return;
    }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace resist;
  CLI::App app{"resist: plan, simulate and run independent subnetwork training of ResNets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "resist 0.1.0");
  std::vector<std::pair<std::string, cli::Runner>> commands{{"plan", cli::add_plan_command(app)},
                                                            {"model", cli::add_model_command(app)},
                                                            {"scenarios", cli::add_scenarios_command(app)}};
#ifdef RESIST_HAVE_SIM
  commands.emplace_back("sim", cli::add_sim_command(app));
  commands.emplace_back("calibrate", cli::add_calibrate_command(app));
  commands.emplace_back("sweep", cli::add_sweep_command(app));
#endif
#ifdef RESIST_HAVE_REPORT
  commands.emplace_back("report", cli::add_report_command(app));
#endif
  commands.emplace_back("run", cli::add_run_command(app));
  commands.emplace_back("compare", cli::add_compare_command(app));
  commands.emplace_back("emulate", cli::add_emulate_command(app));
  commands.emplace_back("profile", cli::add_profile_command(app));
  take_emulated_command(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  try {
    for (const auto& [name, runner] : commands)
      if (app.got_subcommand(name)) return runner();
    return 1;  // require_subcommand(1): CLI11 refused a command line without one
  } catch (const InputError& e) {
    fmt::print(stderr, "resist: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "resist: failed: {}\n", e.what());
    return 1;
  }
}
