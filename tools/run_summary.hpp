// What `resist run` prints at the end: the workers' reports summed up.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exec/worker_contract.hpp"
#include "plan/plan.hpp"
#include "trace/trace.hpp"

namespace resist::cli {

/// The whole run in figures: throughput, accuracy, and per round time split and bytes moved.
nlohmann::json run_summary(const std::vector<exec::WorkerReport>& reports, const Trace& trace, const Plan& plan);

/// Per round mean loss and whether the shared parameters agree, then the summary in words.
std::string summary_text(const std::vector<exec::WorkerReport>& reports, const nlohmann::json& summary);

}  // namespace resist::cli
