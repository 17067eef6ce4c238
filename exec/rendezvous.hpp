// Where the workers of a job meet: c10d's TCPStore, served by worker 0, and barriers on it.
#pragma once

#include <string>

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "exec/worker_contract.hpp"

namespace resist::exec {

/// The job's store: served by worker 0 at master_addr:master_port, joined by the others; waits
/// up to the options' time-out for them.
c10::intrusive_ptr<c10d::Store> connect_store(const WorkerOptions& o);

/// Counts this worker in at `key` and waits until all `world` workers have; throws after
/// `timeout_s` seconds naming the key.
void barrier(c10d::Store& store, const std::string& key, int world, double timeout_s,
             const std::string& progress = "");

/// Waits until all `world` workers have counted themselves in at `key` (store.add(key, 1)).
/// With `progress`, the `timeout_s` counts from the last time that counter moved: a worker that
/// still works (worker 0 counts its rounds there) is waited for as long as it needs.
void await_all(c10d::Store& store, const std::string& key, int world, double timeout_s,
               const std::string& progress = "");

/// The counter worker 0 advances after each of its rounds.
inline constexpr const char* kProgressKey = "resist/progress";

}  // namespace resist::exec
