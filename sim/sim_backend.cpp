// The plan interpreter's backend on SimGrid: compute as executions on the worker's GPU host,
// sends as transfers, coarse one-phase collectives as transfers started from the worker's actor,
// the others in helper actors so a worker can overlap them with other ops.
#include <memory>

#include <fmt/format.h>

#include "plan/memory_traffic.hpp"
#include "sim/sim_backend.hpp"
#include "sim/simgrid_compat.hpp"

namespace resist::sim {

Ticket SimBackend::keep(sg4::ActivityPtr activity) {
  pending_.push_back({std::move(activity), nullptr, nullptr, {}, std::nullopt, 0, 0});
  return pending_.size() - 1;
}

Ticket SimBackend::compute(const OpCall& call) {
  start_deferred();
  // The device's part becomes work at the host's speed, so that workers sharing a GPU share its
  // time (time-slicing: its busy time is the sum). The process's own part (the calibrated
  // per-iteration overhead, a cost table's fixed part: dispatch, data, loss, synchronisation) runs
  // on each worker's own CPU, in parallel with the others: a delay that takes none of the device.
  const double speed = sg4::this_actor::get_host()->get_speed();
  double work = 0, own = settings_.iteration_overhead_s * static_cast<double>(call.op.iterations);
  if (table_) {
    const double fixed = table_->op_fixed_seconds(call.op) * settings_.cost_scale;
    work = (table_->op_seconds(call.plan, call.round, call.op) * settings_.cost_scale - fixed) * speed;
    own += fixed;
  } else {
    // A roofline as a sum: the op's FLOPs at the device's rate, and the bytes its layers move in
    // device memory (BatchNorm, ReLU, additions above all) at the memory's bandwidth, as the FLOPs
    // that take as long.
    const double per_byte = world_.flops_per_byte(self_);
    work = call.op.flops + (per_byte > 0 ? op_memory_bytes(call.plan, call.round, call.op) * per_byte : 0);
  }
  // Alone on its device the two add up either way: one execution, no actor needed.
  if (own <= 0 || !world_.shares_device(self_)) return keep(sg4::this_actor::exec_async(work + own * speed));
  return defer(call, [work, own] {
    sg4::this_actor::sleep_for(own);
    sg4::this_actor::execute(work);
  });
}

Ticket SimBackend::send(const OpCall& call, WorkerId peer) {
  start_deferred();
  const double overhead = settings_.op_overhead(to_string(call.op.kind));
  if (overhead <= 0) return keep(world_.put(call.op.id, self_, peer, static_cast<double>(call.op.bytes)));
  // The sender spends the op's fixed overhead before the data moves; the receiver waits for it.
  World* world = &world_;
  const Op* op = &call.op;
  const WorkerId self = self_;
  return defer(call, [world, op, self, peer, overhead] {
    sg4::this_actor::sleep_for(overhead);
    world->put(op->id, self, peer, static_cast<double>(op->bytes))->wait();
  });
}

Ticket SimBackend::recv(const OpCall& call, WorkerId peer) {
  start_deferred();
  return keep(world_.get(call.op.id, peer, self_));
}

Ticket SimBackend::defer(const OpCall& call, std::function<void()> body) {
  start_deferred();
  pending_.push_back({nullptr, nullptr, nullptr, std::move(body), std::nullopt, call.round.index, call.op.id});
  deferred_ = pending_.size() - 1;
  return *deferred_;
}

void SimBackend::start_deferred() {
  if (!deferred_) return;
  Pending& p = pending_[*deferred_];
  deferred_.reset();
  p.finish = std::make_shared<double>(0);
  p.helper = compat::add_actor(fmt::format("w{}.r{}.op{}", self_, p.round, p.op), sg4::this_actor::get_host(),
                               [body = std::move(p.deferred), finish = p.finish] {
                                 body();
                                 *finish = sg4::Engine::get_clock();
                               });
  p.deferred = nullptr;
}

Ticket SimBackend::collective(const OpCall& call) {
  const Op* op = &call.op;
  World* world = &world_;
  const WorkerId self = self_;
  const double overhead = settings_.op_overhead(to_string(op->kind));
  if (overhead <= 0) {
    start_deferred();
    if (auto phase = start_one_phase(world_, *op, self_)) {
      pending_.push_back({nullptr, nullptr, nullptr, {}, std::move(phase), call.round.index, op->id});
      return pending_.size() - 1;
    }
  }
  return defer(call, [world, op, self, overhead] {
    if (overhead > 0) sg4::this_actor::sleep_for(overhead);  // every member pays it, in parallel
    run_collective(*world, *op, self);
  });
}

double SimBackend::wait(Ticket ticket) {
  // Each ticket is waited for once: its activity or helper actor is released then, so that a long
  // simulation does not keep every finished actor's stack mapped (10,000 data-parallel rounds ran
  // out of memory mappings and SimGrid aborted).
  if (deferred_ == ticket) {  // nothing else started meanwhile: it runs here, in this actor
    deferred_.reset();
    auto body = std::move(pending_[ticket].deferred);
    pending_[ticket].deferred = nullptr;
    body();
    return sg4::Engine::get_clock();
  }
  start_deferred();  // it runs while this worker waits for something else
  Pending& p = pending_[ticket];
  if (p.phase) {
    const double end = finish(*p.phase);
    p.phase.reset();
    return end;
  }
  if (p.activity) {
    p.activity->wait();
    const double finish = p.activity->get_finish_time();
    p.activity = nullptr;
    return finish;
  }
  p.helper->join();
  p.helper = nullptr;
  return *p.finish;
}

double SimBackend::now() { return sg4::Engine::get_clock(); }

}  // namespace resist::sim
