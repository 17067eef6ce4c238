// Subcommands of the `resist` front end. Each registers its options and returns a runner.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "input/scenario.hpp"
#include "trace/trace.hpp"

namespace resist::cli {

/// Runs a parsed subcommand; returns the process exit code.
using Runner = std::function<int()>;

Runner add_plan_command(CLI::App& app);
Runner add_model_command(CLI::App& app);
Runner add_scenarios_command(CLI::App& app);
Runner add_sim_command(CLI::App& app);
Runner add_run_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);
Runner add_calibrate_command(CLI::App& app);
Runner add_sweep_command(CLI::App& app);
Runner add_report_command(CLI::App& app);
Runner add_emulate_command(CLI::App& app);
Runner add_profile_command(CLI::App& app);
/// What follows `--` on `resist emulate`'s command line: the command each worker runs (main()
/// takes it off before CLI11 parses the rest).
extern std::vector<std::string> emulated_command;

/// `resist-worker` beside this executable; std::runtime_error saying how to build it when missing.
std::filesystem::path worker_binary();
/// Runs `body` with a scratch folder of its own (TMPDIR/resist-NAME-PID) while stop signals are
/// caught: the folder is removed afterwards, on an error, and on a stop signal (SIGINT, SIGTERM,
/// SIGHUP), of which this process then dies.
void with_scratch_dir(const std::string& name, const std::function<void(const std::filesystem::path&)>& body);
/// What the executor trains (pre-activation ResNets, IST's MLP), on data that fits the model;
/// InputError naming the place otherwise.
void check_trainable(const Scenario& s);

/// Reads a trace file (either source); InputError naming the file on bad input.
Trace load_trace(const std::string& file);

/// Parses "local_sgd,data_parallel"; throws InputError("--compare", ...) for an unknown name.
std::vector<StrategyKind> parse_strategy_list(const std::string& list);

/// --set, as every command that reads a scenario takes it.
void add_set_option(CLI::App* sub, std::vector<std::string>& sets);
/// --format text|json and --out FILE, as every command that prints a result takes them.
void add_output_options(CLI::App* sub, std::string& format, std::string& out);

/// Writes to `out` atomically when a path is given, else to standard output.
void emit(const std::string& out, const std::string& text);

}  // namespace resist::cli
