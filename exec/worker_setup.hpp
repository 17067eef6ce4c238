// What every LibTorch process of the executor does before it trains (a worker, a profile): the
// model on its device, in its memory format; the allocator keeping its working set.
#pragma once

#include <torch/torch.h>

#include "exec/network_module.hpp"
#include "exec/worker_contract.hpp"
#include "input/scenario.hpp"

namespace resist::exec {

/// Moves the model to its device (WorkerOptions::device, local_rank), in the memory format the
/// scenario asks for there; returns the device.
torch::Device place_model(const Scenario& s, const WorkerOptions& o, NetModel& model);

/// Keeps freed memory in the process (a training iteration's working set is the same every time).
void keep_working_set();

}  // namespace resist::exec
