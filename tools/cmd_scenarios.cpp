// `resist scenarios`: the scenario library compiled into resist (scenarios/*.json), one line
// each; `--show NAME` prints one. Any command taking a scenario file takes these names too.
#include <memory>

#include <fmt/format.h>

#include "input/embedded.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "tools/commands.hpp"

namespace resist::cli {

Runner add_scenarios_command(CLI::App& app) {
  auto show = std::make_shared<std::string>();
  auto list = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "scenarios", "List the built-in scenarios (the paper's setups and modern clusters); commands "
                   "taking a scenario file take their names too");
  sub->add_flag("--list", *list, "List them, one line each with its description (the default)");
  sub->add_option("--show", *show, "Print this scenario's JSON")->excludes("--list");
  return [show] {
    if (!show->empty()) {
      for (const auto& [name, text] : builtin_scenarios())
        if (name == *show) {
          fmt::print("{}", text);
          return 0;
        }
      throw InputError("--show", "", fmt::format("no built-in scenario \"{}\" (resist scenarios lists them)", *show));
    }
    for (const auto& [name, text] : builtin_scenarios()) {
      const nlohmann::json d = parse_json_text(text, name);
      fmt::print("{:<40} {:>3} workers on {}\n    {}\n", name, d["strategy"]["workers"].get<int>(),
                 d["cluster"].get<std::string>(), d.value("description", ""));
    }
    return 0;
  };
}

}  // namespace resist::cli
