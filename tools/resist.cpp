// `resist`: plan, simulate, run and compare independent subnetwork training.
#include <cstdio>
#include <exception>
#include <string_view>

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

int main(int argc, char** argv) {
  using namespace resist;
  CLI::App app{"resist: plan, simulate and run independent subnetwork training of ResNets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "resist 0.1.0");
  cli::Runner plan = cli::add_plan_command(app);
  cli::Runner model = cli::add_model_command(app);
  cli::Runner scenarios = cli::add_scenarios_command(app);
#ifdef RESIST_HAVE_SIM
  cli::Runner sim = cli::add_sim_command(app);
  cli::Runner calibrate = cli::add_calibrate_command(app);
  cli::Runner sweep = cli::add_sweep_command(app);
#endif
#ifdef RESIST_HAVE_REPORT
  cli::Runner report = cli::add_report_command(app);
#endif
  cli::Runner run = cli::add_run_command(app);
  cli::Runner compare = cli::add_compare_command(app);
  cli::Runner emulate = cli::add_emulate_command(app);
  cli::Runner profile = cli::add_profile_command(app);
  // `resist emulate CLUSTER [OPTIONS] -- COMMAND...`: COMMAND's words are its own, not options.
  if (argc > 1 && std::string_view(argv[1]) == "emulate")
    for (int i = 2; i < argc; ++i)
      if (std::string_view(argv[i]) == "--") {
        cli::emulated_command.assign(argv + i + 1, argv + argc);
        argc = i;
        break;
      }
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
    if (app.got_subcommand("plan")) return plan();
    if (app.got_subcommand("scenarios")) return scenarios();
    if (app.got_subcommand("run")) return run();
    if (app.got_subcommand("compare")) return compare();
    if (app.got_subcommand("emulate")) return emulate();
    if (app.got_subcommand("profile")) return profile();
#ifdef RESIST_HAVE_SIM
    if (app.got_subcommand("sim")) return sim();
    if (app.got_subcommand("calibrate")) return calibrate();
    if (app.got_subcommand("sweep")) return sweep();
#endif
#ifdef RESIST_HAVE_REPORT
    if (app.got_subcommand("report")) return report();
#endif
    return model();
  } catch (const InputError& e) {
    fmt::print(stderr, "resist: error: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "resist: failed: {}\n", e.what());
    return 1;
  }
}
