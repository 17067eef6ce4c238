// `resist model`: the catalogue and one network's per-block costs.
#include <memory>

#include <fmt/format.h>

#include "model/catalogue.hpp"
#include "model/model_text.hpp"
#include "input/input_error.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

struct ModelOptions {
  bool list = false;
  std::string arch;
  int classes = 10;
  std::string input = "3x32x32";
  double width = 1.0;
  std::vector<int> depths;
  std::vector<int> hidden;
  std::string format = "text";
  std::string dtype = "fp32";
  std::string out;
};

std::array<int, 3> parse_input(const std::string& text) {
  std::array<int, 3> dims{};
  char x1 = 0, x2 = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c%d%n", &dims[0], &x1, &dims[1], &x2, &dims[2], &used) != 5 ||
      x1 != 'x' || x2 != 'x' || used != static_cast<int>(text.size()))
    throw InputError("--input", "", fmt::format("expected CxHxW such as 3x32x32, found \"{}\"", text));
  return dims;
}

std::string list_text() {
  std::string out;
  for (const ArchInfo& a : architectures()) out += fmt::format("{:<30} {}\n", a.name, a.description);
  return out;
}

int run_model(const ModelOptions& o) {
  if (o.list || o.arch.empty()) {
    if (!o.list) throw InputError("resist model", "", "expected an architecture name or --list");
    emit(o.out, list_text());
    return 0;
  }
  ModelSpec spec;
  spec.arch = o.arch;
  spec.classes = o.classes;
  spec.input = parse_input(o.input);
  spec.width = o.width;
  spec.depths = o.depths;
  spec.hidden = o.hidden;
  Network net;
  try {
    net = build_network(spec);
  } catch (const ModelError& e) {
    throw InputError(e.field() == "arch" ? "resist model" : "--" + e.field(), "", e.what());
  }
  if (o.format == "json") {
    emit(o.out, network_json(net).dump(2) + "\n");
  } else {
    emit(o.out, network_table(net, *parse_dtype(o.dtype)));
  }
  return 0;
}

}  // namespace

Runner add_model_command(CLI::App& app) {
  auto o = std::make_shared<ModelOptions>();
  CLI::App* sub = app.add_subcommand("model", "List architectures, or show one network's "
                                              "per-block parameters, bytes and FLOPs");
  sub->add_option("arch", o->arch, "Architecture name (see --list)");
  sub->add_flag("--list", o->list, "List the architectures");
  sub->add_option("--classes", o->classes, "Number of classes");
  sub->add_option("--input", o->input, "One sample as CxHxW, e.g. 3x32x32 or 3x224x224");
  sub->add_option("--width", o->width, "Multiplier of the stage widths (ResNets)");
  sub->add_option("--depths", o->depths, "Blocks per stage, e.g. 1,1,3,1 (ResNets)")
      ->delimiter(',')->allow_extra_args(false);
  sub->add_option("--hidden", o->hidden, "Hidden layer widths, e.g. 1024,1024 (mlp)")
      ->delimiter(',')->allow_extra_args(false);
  sub->add_option("--dtype", o->dtype, "Element type for the byte column")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
  add_output_options(sub, o->format, o->out);
  return [o] { return run_model(*o); };
}

}  // namespace resist::cli
