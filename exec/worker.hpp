// One worker of a real training run. No LibTorch in this header: the launcher includes it.
#pragma once

#include "exec/worker_contract.hpp"
#include "plan/cost_table.hpp"
#include "plan/plan.hpp"
#include "input/scenario.hpp"

namespace resist::exec {

/// Trains this worker's part of `plan` (made from `scenario`) and returns its report. With
/// gather_reports worker 0's report also holds the other workers' (passed through the rendezvous
/// store). Executes whatever the plan's operations say: it knows no strategy. Throws on failure.
WorkerReport run_worker(const Scenario& scenario, const Plan& plan, const WorkerOptions& options);

/// Measures the cost table of the scenario's network on this machine (exec/profile.cpp): each
/// block's forward and backward in isolation, the optimizer step and a whole training iteration,
/// on the device, threads and dtype the options and scenario say; the median of `repetitions`
/// timings after warm-up.
CostTable profile_costs(const Scenario& scenario, const Plan& plan, const WorkerOptions& options, int repetitions);

/// Monotonic clock in seconds, comparable between processes of one machine.
double monotonic_seconds();

}  // namespace resist::exec
