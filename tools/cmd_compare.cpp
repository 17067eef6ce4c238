// `resist compare SIMULATED MEASURED`: a simulated and a measured trace of one plan, operation by
// operation.
#include <memory>

#include "input/json_file.hpp"
#include "trace/trace_compare.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct CompareOptions {
  std::string simulated, measured, format = "text", out;
};

}  // namespace

Trace load_trace(const std::string& file) { return trace_from_json(read_json_file(file), file); }

Runner add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = app.add_subcommand(
      "compare", "Compare a simulated trace (resist sim --trace) with a measured one (resist run "
                 "--trace) of the same plan: errors per operation kind and round");
  sub->add_option("simulated", o->simulated, "Simulated trace")->required();
  sub->add_option("measured", o->measured, "Measured trace")->required();
  add_output_options(sub, o->format, o->out);
  return [o] {
    const Comparison c = compare_traces(load_trace(o->simulated), o->simulated, load_trace(o->measured), o->measured);
    emit(o->out, o->format == "json" ? comparison_to_json(c).dump(1) + "\n" : comparison_text(c));
    return 0;
  };
}

}  // namespace resist::cli
