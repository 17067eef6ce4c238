// Subcommands of the `resist` front end. Each registers its options and returns a runner.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace resist::cli {

/// Runs a parsed subcommand; returns the process exit code.
using Runner = std::function<int()>;

Runner add_plan_command(CLI::App& app);
Runner add_model_command(CLI::App& app);

/// Writes to `out` atomically when a path is given, else to standard output.
void emit(const std::string& out, const std::string& text);

}  // namespace resist::cli
