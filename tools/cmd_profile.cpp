// `resist profile`: measures a scenario's network on this machine, block by block, and writes the
// cost table the simulator times compute from (sim.cost_table). The measuring is resist-worker's
// (LibTorch stays out of this process).
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "exec/supervisor.hpp"
#include "exec/worker_contract.hpp"
#include "input/json_file.hpp"
#include "plan/cost_table.hpp"
#include "plan/generator.hpp"
#include "tools/commands.hpp"

namespace resist::cli {
namespace {

namespace fs = std::filesystem;

struct ProfileOptions {
  std::string scenario;
  std::vector<std::string> sets;
  std::string table;
  int threads = 1;
  int repetitions = 20;
  std::string device = "auto";
  std::string format = "text";
  std::string out;
};

/// Runs resist-worker --profile in `dir` and reads the table it wrote.
CostTable measure(const ProfileOptions& o, const fs::path& dir) {
  exec::WorkerOptions w;
  if (!o.scenario.empty()) w.scenario = fs::absolute(o.scenario).string();
  w.sets = o.sets;
  w.threads = o.threads;
  w.device = o.device;
  const fs::path options = dir / "options.json", table = dir / "table.json";
  write_file_atomically(options, to_json(w).dump(1) + "\n");
  exec::Supervisor worker;
  worker.start(worker_binary(), {"--options", options.string(), "--profile", table.string(), "--repetitions",
                                 std::to_string(o.repetitions)},
               {"RANK=0", "WORLD_SIZE=1", "LOCAL_RANK=0"}, 0);
  worker.wait_all();
  return load_cost_table(table);
}

std::string table_text(const CostTable& t, const Network& net) {
  std::string out = fmt::format("cost table: {}, batch {}, {}, {} thread(s), LibTorch {}, {}\n",
                                t.measured.value("processor", t.measured.value("device", "?")), t.batch_size,
                                to_string(t.dtype), t.measured.value("threads", 0),
                                t.measured.value("libtorch", "?"), t.measured.value("date", "?"));
  out += fmt::format("{:<12} {:<18} {:>11} {:>11} {:>10}\n", "block", "kind", "forward ms", "backward ms", "GFLOP/s");
  double blocks = 0;
  for (std::size_t i = 0; i < t.blocks.size(); ++i) {
    const BlockCost& b = t.blocks[i];
    const double seconds = b.forward_s + b.backward_s;
    blocks += seconds;
    const double rate = seconds > 0 ? net.blocks[i].train_flops() * t.batch_size / seconds / 1e9 : 0;
    out += fmt::format("{:<12} {:<18} {:>11.3f} {:>11.3f} {:>10.2f}\n", b.id, to_string(net.blocks[i].kind),
                       1e3 * b.forward_s, 1e3 * b.backward_s, rate);
  }
  const double step = t.step_s_per_param * static_cast<double>(net.total_params());
  out += fmt::format("blocks {:.3f} ms + optimizer step {:.3f} ms + the rest (data, loss) {:.3f} ms = "
                     "one iteration {:.3f} ms as measured\n",
                     1e3 * blocks, 1e3 * step, 1e3 * t.fixed_s, 1e3 * t.iteration_s);
  if (blocks + step > t.iteration_s)
    out += "note: the blocks alone took longer than the whole iteration (timing noise, or the blocks run "
           "slower in isolation): the rest is 0\n";
  return out;
}

int profile(const ProfileOptions& o) {
  const Scenario s = scenario_or_default(o.scenario, o.sets);
  check_trainable(s);
  const Plan plan = make_plan(s, 1);
  CostTable t;
  with_scratch_dir("profile", [&](const fs::path& dir) { t = measure(o, dir); });
  const std::string json = cost_table_to_json(t).dump(1) + "\n";
  if (!o.table.empty()) write_file_atomically(o.table, json);
  emit(o.out, o.format == "json" ? json : table_text(t, plan.network));
  return 0;
}

}  // namespace

Runner add_profile_command(CLI::App& app) {
  auto o = std::make_shared<ProfileOptions>();
  CLI::App* sub = app.add_subcommand(
      "profile", "Measure a scenario's network on this machine (each block's forward and backward, the "
                 "optimizer step, a whole iteration) and write the cost table the simulator can time compute "
                 "from (sim.cost_table)");
  sub->add_option("scenario", o->scenario, "Scenario JSON file (default: the built-in one)");
  add_set_option(sub, o->sets);
  sub->add_option("--table", o->table, "Write the cost table (JSON) to this file, for sim.cost_table");
  sub->add_option("--threads", o->threads, "Intra-op threads, as the run's per worker")->check(CLI::Range(1, 1024));
  sub->add_option("--repetitions", o->repetitions, "Timings per measurement; the median is kept")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--device", o->device, "auto (a GPU when LibTorch sees one), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  add_output_options(sub, o->format, o->out);
  return [o] { return profile(*o); };
}

}  // namespace resist::cli
