// The plan interpreter's backend on SimGrid: compute as executions on the worker's GPU host,
// sends as transfers, collectives in helper actors so a worker can overlap them with other ops.
#include <memory>

#include <fmt/format.h>

#include "sim/sim_backend.hpp"

namespace resist::sim {

Ticket SimBackend::keep(sg4::ActivityPtr activity) {
  pending_.push_back({std::move(activity), nullptr, nullptr});
  return pending_.size() - 1;
}

Ticket SimBackend::compute(const OpCall& call) {
  return keep(sg4::this_actor::exec_async(call.op.flops));
}

Ticket SimBackend::send(const OpCall& call, WorkerId peer) {
  return keep(world_.put(call.op.id, self_, peer, static_cast<double>(call.op.bytes)));
}

Ticket SimBackend::recv(const OpCall& call, WorkerId peer) {
  return keep(world_.get(call.op.id, peer, self_));
}

Ticket SimBackend::collective(const OpCall& call) {
  auto finish = std::make_shared<double>(0);
  const Op* op = &call.op;
  World* world = &world_;
  const WorkerId self = self_;
  auto actor = sg4::Actor::create(fmt::format("w{}.r{}.op{}", self, call.round.index, op->id),
                                  sg4::this_actor::get_host(), [world, op, self, finish] {
                                    run_collective(*world, *op, self);
                                    *finish = sg4::Engine::get_clock();
                                  });
  pending_.push_back({nullptr, std::move(actor), std::move(finish)});
  return pending_.size() - 1;
}

double SimBackend::wait(Ticket ticket) {
  Pending& p = pending_[ticket];
  if (p.activity) {
    p.activity->wait();
    return p.activity->get_finish_time();
  }
  p.helper->join();
  return *p.finish;
}

double SimBackend::now() { return sg4::Engine::get_clock(); }

}  // namespace resist::sim
