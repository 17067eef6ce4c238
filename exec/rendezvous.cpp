#include "exec/rendezvous.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "exec/net.hpp"
#include "exec/torch_compat.hpp"
#include "exec/worker.hpp"

namespace resist::exec {

c10::intrusive_ptr<c10d::Store> connect_store(const WorkerOptions& o) {
  c10d::TCPStoreOptions options;
  use_classic_store(options);
  options.port = static_cast<std::uint16_t>(o.master_port);
  options.isServer = o.rank == 0;
  options.numWorkers = static_cast<std::size_t>(o.world);
  options.timeout = std::chrono::seconds(o.timeout_s);
  // The store's client connects at its first try (await_listener); a store that refused for the
  // whole time-out is not waited for again.
  if (o.rank != 0 && await_listener(o.master_addr, o.master_port, options.timeout) == PeerState::not_running)
    throw std::runtime_error(fmt::format("rendezvous at {}:{} (worker 0's store): refused for the whole time-out, {} s: "
                                         "worker 0 did not start there, or has stopped",
                                         o.master_addr, o.master_port, o.timeout_s));
  try {
    return c10::make_intrusive<c10d::TCPStore>(o.master_addr, options);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("rendezvous at {}:{} ({}): {}", o.master_addr, o.master_port,
                                         o.rank == 0 ? "served here, waiting for the other workers" : "worker 0's store",
                                         error_text(e)));
  }
}

void await_all(c10d::Store& store, const std::string& key, int world, double timeout_s, const std::string& progress) {
  double deadline = monotonic_seconds() + timeout_s;
  std::int64_t seen = progress.empty() ? 0 : store.add(progress, 0);
  while (store.add(key, 0) < world) {
    if (!progress.empty()) {
      const std::int64_t now = store.add(progress, 0);
      if (now != seen) deadline = monotonic_seconds() + timeout_s;  // still working: wait on
      seen = now;
    }
    if (monotonic_seconds() > deadline)
      throw std::runtime_error(fmt::format("{}: not every worker arrived within {} s{}", key, timeout_s,
                                           progress.empty() ? "" : " of the last progress"));
    std::this_thread::sleep_for(std::chrono::milliseconds(progress.empty() ? 1 : 10));
  }
}

void barrier(c10d::Store& store, const std::string& key, int world, double timeout_s, const std::string& progress) {
  store.add(key, 1);
  await_all(store, key, world, timeout_s, progress);
}

}  // namespace resist::exec
