#include "exec/torch_backend.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <torch/cuda.h>

#include "exec/torch_compat.hpp"
#include "input/input_error.hpp"

namespace resist::exec {

torch::optim::SGDOptions sgd_options(const Scenario& s, double lr) {
  return torch::optim::SGDOptions(lr).momentum(s.training.momentum).weight_decay(s.training.weight_decay);
}

namespace {

std::int64_t numel(const std::vector<torch::Tensor>& tensors) {
  std::int64_t n = 0;
  for (const torch::Tensor& t : tensors) n += t.numel();
  return n;
}

/// Unique among the operations that can be in flight together: round and op id.
int tag(const OpCall& call) { return static_cast<int>((call.round.index % 4096) * 65536 + call.op.id); }

}  // namespace

torch::Device device_of(NetModel& model) { return model->parameters().front().device(); }

torch::ScalarType scalar_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::bf16: return torch::kBFloat16;
    case Dtype::fp16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

bool use_channels_last(const Scenario& s, torch::Device device) {
  switch (s.training.memory_format) {
    case MemoryFormat::channels_last: return true;
    case MemoryFormat::contiguous: return false;
    // On the CPU oneDNN trains channels-last 10-16% faster, and as well: Fashion-MNIST, 2 epochs
    // with the rate cut at 1.5 (tools/bench_layout_accuracy.sh), local SGD seeds 1-3 at 92.35, 92.30,
    // 92.35% against 92.65, 92.15, 92.40% contiguous; ResIST 91.80, 92.15, 91.80% against 91.40,
    // 91.80, 91.50%. (It was off on the CPU until 2026-12-04 after runs at a constant rate, whose
    // final accuracy swings by several points from round to round: 77-90% on one seed.) With
    // Debian 13's LibTorch 2.6: 10-12% faster (tools/bench_exec.sh, 2026-12-04), once the block
    // worked around oneDNN's heap corruption in small strided 1x1 convolutions
    // (network_module.cpp, PreActBlockImpl::project).
    default: return device.is_cpu() || s.training.dtype != Dtype::fp32;
  }
}

std::optional<torch::ScalarType> autocast_type(const Scenario& s, torch::Device device) {
  if (s.training.dtype == Dtype::fp32) return std::nullopt;
  if (s.training.dtype == Dtype::fp16 && device.is_cpu())
    throw InputError(s.source, "/training/dtype",
                     "fp16 trains on GPUs only (LibTorch's CPU kernels have no fp16 convolution); "
                     "use bf16 or fp32 on the CPU");
  return scalar_type(s.training.dtype);
}

void multi_tensor_sgd_step(torch::optim::SGD& optimizer) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::SGDOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, buffers, fresh_grads;
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;  // a block this worker does not train now
      params.push_back(p);
      grads.push_back(p.grad());
    }
    if (params.empty()) continue;
    if (o.weight_decay() != 0) grads = at::_foreach_add(grads, params, o.weight_decay());
    if (o.momentum() != 0) {
      std::vector<torch::Tensor> directions;
      auto& state = optimizer.state();
      for (std::size_t i = 0; i < params.size(); ++i) {
        const auto key = optimizer_state_key(optimizer, params[i]);
        auto it = state.find(key);
        if (it == state.end()) {  // first step: the buffer is the gradient (as SGD::step)
          auto fresh = std::make_unique<torch::optim::SGDParamState>();
          fresh->momentum_buffer(torch::clone(grads[i]).detach());
          state[key] = std::move(fresh);
          continue;
        }
        buffers.push_back(static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
        fresh_grads.push_back(grads[i]);
      }
      if (!buffers.empty()) {
        at::_foreach_mul_(buffers, o.momentum());
        at::_foreach_add_(buffers, fresh_grads, 1 - o.dampening());
      }
      // The step direction of each parameter, in params' order.
      for (const torch::Tensor& p : params)
        directions.push_back(static_cast<torch::optim::SGDParamState&>(*state.at(optimizer_state_key(optimizer, p))).momentum_buffer());
      if (o.nesterov()) grads = at::_foreach_add(grads, directions, o.momentum());
      else grads = directions;
    }
    at::_foreach_add_(params, grads, -o.lr());
  }
}

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return true;
  at::_foreach_mul_(grads, 1.0 / scale_);
  std::vector<torch::Tensor> bad;
  for (const torch::Tensor& g : grads) bad.push_back(g.isfinite().logical_not().any());
  return !torch::stack(bad).any().item<bool>();
}

void LossScaler::update(bool finite) {
  if (!finite) {
    scale_ *= 0.5;
    finite_steps_ = 0;
  } else if (++finite_steps_ == growth_interval_) {
    scale_ *= 2;
    finite_steps_ = 0;
  }
}

TorchBackend::TorchBackend(const Scenario& s, const Plan& plan, NetModel& model, Communicator& comm,
                           DataFeed& feed, WorkerId self, std::function<double()> clock)
    : s_(s), plan_(plan), model_(model), comm_(comm), feed_(feed), self_(self), clock_(std::move(clock)),
      device_(device_of(model)), wire_type_(scalar_type(plan.dtype)), channels_last_(use_channels_last(s, device_)),
      autocast_(autocast_type(s, device_)),
      scaler_(s.training.dtype == Dtype::fp16 ? std::make_unique<LossScaler>() : nullptr),
      optimizer_(model->parameters(), sgd_options(s, s.training.learning_rate)) {
  if (s.training.cuda_graphs && device_.is_cuda() && !scaler_ && plan.strategy != StrategyKind::layer_parallel) {
    const std::optional<std::string> unavailable = cuda_graphs_unavailable();
    graphs_ = !unavailable;
    if (unavailable && self_ == 0) fmt::print(stderr, "resist-worker 0: note: training.cuda_graphs: {}\n", *unavailable);
  }
  if (plan.strategy == StrategyKind::layer_parallel) {
    if (scaler_)
      throw InputError(s.source, "/training/dtype", "layer_parallel trains in fp32 or bf16; fp16's loss scaling is not implemented for it");
    stage_ = std::make_unique<LayerStage>(s, plan, self, device_, autocast_, channels_last_);
  }
}

torch::Tensor TorchBackend::forward_backward(const Batch& batch,
                                             const std::function<torch::Tensor(const torch::Tensor&)>& net) {
  const torch::Tensor images =
      channels_last_ && batch.images.dim() == 4 ? batch.images.contiguous(torch::MemoryFormat::ChannelsLast) : batch.images;
  torch::Tensor loss;
  {
    AutocastScope autocast(device_.type(), autocast_);
    loss = torch::nn::functional::cross_entropy(net(images), batch.labels);  // fp32 under autocast
  }
  (scaler_ ? loss * scaler_->scale() : loss).backward();
  return loss.detach();
}

void TorchBackend::step(torch::optim::SGD& optimizer, const std::vector<torch::Tensor>& parameters) {
  if (scaler_) {
    const bool finite = scaler_->unscale(parameters);
    scaler_->update(finite);
    if (!finite) return;
  }
  multi_tensor_sgd_step(optimizer);
}

torch::Tensor TorchBackend::wire(const std::vector<torch::Tensor>& tensors) const {
  return flatten(tensors).to(wire_type_);
}

void TorchBackend::set_learning_rate(std::uint64_t round) {
  for (auto& group : optimizer_.param_groups())
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(s_.learning_rate(round));
}

Ticket TorchBackend::compute(const OpCall& call) {
  set_learning_rate(call.round.index);
  const Assignment& mine = call.round.assignments[static_cast<std::size_t>(self_)];
  if (stage_ && call.round.phase == Phase::layer_parallel) return compute_stage(call);  // else: serial correction
  if (!mine.neurons.empty()) return compute_slice(call);
  std::vector<char> active(plan_.network.blocks.size(), 0);
  for (BlockIndex b : mine.blocks) active[b] = 1;
  model_->train();
  const std::vector<torch::Tensor> parameters = model_->parameters();
  // Summed where the model is and read once, after the local iterations: no host synchronisation
  // inside them (a GPU runs ahead of the host).
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
  const auto net = [&](const torch::Tensor& x) { return model_->forward(x, active, 1.0); };
  const StepGraph::Iteration iteration = [&](const Batch& batch) {
    for (const torch::Tensor& p : parameters) p.mutable_grad() = torch::Tensor();
    torch::Tensor loss = forward_backward(batch, net);
    if (call.op.step_each_iteration) step(optimizer_, parameters);  // blocks without gradients are left alone
    return loss;
  };
  const std::uint32_t graphed = graphable(call) ? train_graphed(call, active, iteration, loss_sum) : 0;
  for (std::uint32_t i = graphed; i < call.op.iterations; ++i) loss_sum.add_(iteration(feed_.next(plan_.batch_size)));
  samples_ += static_cast<std::uint64_t>(call.op.iterations) * static_cast<std::uint64_t>(plan_.batch_size);
  round_loss_ = loss_sum.item<double>() / std::max<std::uint32_t>(1, call.op.iterations);
  return done();
}

bool TorchBackend::graphable(const OpCall& call) const {
  // Not while a transfer is under way: LibTorch 1.x captures in global mode, where another
  // thread's use of the GPU breaks the capture.
  return graphs_ && call.op.step_each_iteration && in_flight_.empty() &&
         call.op.iterations >= static_cast<std::uint32_t>(kGraphWarmUp) + 2;
}

/// The op's iterations as replays of a captured step: the graph of the op before when it trained
/// the same blocks at the same rate on the same momentum buffers, else a new capture (after
/// kGraphWarmUp eager iterations). Where capture fails, graphs are off for the rest of the run
/// and the caller trains what is left eagerly. Returns the iterations trained.
std::uint32_t TorchBackend::train_graphed(const OpCall& call, const std::vector<char>& active,
                                          const StepGraph::Iteration& iteration, torch::Tensor& loss_sum) {
  const GraphKey key{active, s_.learning_rate(call.round.index), momentum_generation_};
  std::uint32_t trained = 0;
  const auto next = [&] { return feed_.next(plan_.batch_size); };
  if (graph_ && graph_key_ == key) {
    graph_->reset_loss();
  } else {
    graph_.reset();
    try {
      graph_ = StepGraph::capture(iteration, next, kGraphWarmUp, loss_sum, trained);
    } catch (const std::exception& e) {
      graphs_ = false;
      fmt::print(stderr, "resist-worker {}: warning: the training step could not be captured as a CUDA graph ({}); "
                         "it trains without graphs from here\n", self_, error_text(e));
      return trained;
    }
    graph_key_ = key;
    ++captures_;
  }
  for (; trained < call.op.iterations; ++trained) graph_->run(next());
  loss_sum.add_(graph_->loss_sum());
  return trained;
}

/// A layer-parallel op: the stage's AuxNet forward or update, or its blocks' training iteration.
Ticket TorchBackend::compute_stage(const OpCall& call) {
  switch (call.op.part) {
    case ComputePart::aux_forward: stage_->aux_forward(call.round, feed_); break;
    case ComputePart::aux_update: stage_->aux_update(call.round); break;
    case ComputePart::train:
      round_loss_ = stage_->train(call.round, feed_, model_, optimizer_).item<double>();
      // Every stage trains on the same batch: the first one counts it for the training.
      if (self_ == 0) samples_ += static_cast<std::uint64_t>(plan_.batch_size);
      break;
  }
  return done();
}

/// Trains this worker's slice of hidden neurons, then writes it back into the model.
Ticket TorchBackend::compute_slice(const OpCall& call) {
  const auto& neurons = call.round.assignments[static_cast<std::size_t>(self_)].neurons;
  std::vector<torch::Tensor> slice = model_->neuron_slice(neurons);
  std::vector<torch::Tensor> trained = slice_parameters(slice);
  for (torch::Tensor& t : trained) t.set_requires_grad(true);
  // The slice's tensors are copies the model's optimizer does not know: they train with their own.
  if (!call.op.fresh_optimizer)
    throw std::invalid_argument(fmt::format("round {} op {}: a neuron slice trains with a fresh optimizer "
                                            "(fresh_optimizer), momentum cannot follow a slice", call.round.index, call.op.id));
  torch::optim::SGD sgd(trained, sgd_options(s_, s_.learning_rate(call.round.index)));
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
  const auto net = [&](const torch::Tensor& x) { return slice_forward(slice, x, true); };
  for (std::uint32_t i = 0; i < call.op.iterations; ++i) {
    sgd.zero_grad();
    loss_sum.add_(forward_backward(feed_.next(plan_.batch_size), net));
    if (call.op.step_each_iteration) step(sgd, trained);
    samples_ += static_cast<std::uint64_t>(plan_.batch_size);
  }
  round_loss_ = loss_sum.item<double>() / std::max<std::uint32_t>(1, call.op.iterations);
  for (torch::Tensor& t : slice) t = t.detach();
  model_->write_neuron_slice(neurons, slice);
  own_common_ = slice.back().clone();
  return done();
}

Ticket TorchBackend::send(const OpCall& call, WorkerId peer) {
  const bool slice = call.op.payload == Payload::neuron_slices;
  torch::Tensor flat = at_cut(call.op) ? wire({stage_->outgoing(call.op.payload)})
                       : wire(slice ? model_->neuron_slice(call.op.neurons) : state(call.op));
  return started(comm_.start_send(flat, peer, tag(call)));
}

Ticket TorchBackend::recv(const OpCall& call, WorkerId peer) {
  const bool is_slice = call.op.payload == Payload::neuron_slices;
  std::vector<torch::Tensor> tensors = at_cut(call.op) ? std::vector<torch::Tensor>{stage_->incoming(call.op.payload)}
                                      : is_slice      ? model_->neuron_slice(call.op.neurons)
                                                      : state(call.op);
  torch::Tensor flat = torch::empty({numel(tensors)}, tensors.front().options().dtype(wire_type_));
  Pending pending = comm_.start_recv(flat, peer, tag(call));
  return started(std::move(pending), [this, call, flat, tensors, is_slice]() mutable {
    // A moved block keeps the receiver's own momentum for it (from when it last held it). Zeroing
    // it on arrival was measured worse (Fashion-MNIST, 2 workers, 2 epochs, seeds 1 and 2: 88.65%
    // and 84.30% against 89.05% and 88.55% kept); shipping it would double the bytes moved.
    unflatten(flat, tensors);
    if (is_slice) {
      if (call.op.average_common) average_common(call, tensors);
      model_->write_neuron_slice(call.op.neurons, tensors);
    }
  });
}

/// The tensor every slice holds (the output bias, last in a slice) becomes the mean of the
/// coordinator's own and the slices gathered so far this round.
void TorchBackend::average_common(const OpCall& call, std::vector<torch::Tensor>& slice) {
  if (gathered_round_ != call.round.index) {
    gathered_round_ = call.round.index;
    common_sum_ = own_common_.clone();
    common_count_ = 1;
  }
  common_sum_ += slice.back();
  slice.back() = common_sum_ / static_cast<double>(++common_count_);
}

Ticket TorchBackend::collective(const OpCall& call) {
  const Op& op = call.op;
  if (op.payload == Payload::gradients) {
    std::vector<torch::Tensor> grads;
    for (BlockIndex b : op.blocks)
      for (torch::Tensor& p : model_->parameters_of(b)) grads.push_back(p.mutable_grad());
    torch::Tensor flat = wire(grads);
    Pending pending = comm_.start_allreduce_mean(flat, op.group, tag(call));
    return started(std::move(pending), [this, flat, grads, step_after = op.step_after]() mutable {
      unflatten(flat, grads);
      if (step_after) step(optimizer_, model_->parameters());
    });
  }
  std::vector<torch::Tensor> tensors = state(op);
  torch::Tensor flat = wire(tensors);
  Pending pending;
  if (op.kind == OpKind::allreduce) pending = comm_.start_allreduce_mean(flat, op.group, tag(call));
  if (op.kind == OpKind::reduce) pending = comm_.start_reduce_mean(flat, op.group, op.root, tag(call));
  if (op.kind == OpKind::broadcast) pending = comm_.start_broadcast(flat, op.group, op.root, tag(call));
  return started(std::move(pending), [flat, tensors]() mutable { unflatten(flat, tensors); });
}

std::vector<torch::Tensor> TorchBackend::state(const Op& op) {
  std::vector<torch::Tensor> out;
  for (BlockIndex b : op.blocks)
    for (const torch::Tensor& t : model_->state(b)) out.push_back(t);
  return out;
}

Ticket TorchBackend::started(Pending pending, std::function<void()> then) {
  if (!pending.transfer) {  // an engine that finished the transfer before returning
    if (pending.finish) pending.finish();
    if (then) then();
    return done();
  }
  finished_.push_back(0);
  const Ticket ticket = finished_.size() - 1;
  InFlight& f = in_flight_[ticket];
  f.transferred = std::async(std::launch::async, [transfer = std::move(pending.transfer), this] {
    transfer();
    return clock_();
  });
  f.finish = [finish = std::move(pending.finish), then = std::move(then)] {
    if (finish) finish();
    if (then) then();
  };
  return ticket;
}

double TorchBackend::wait(Ticket ticket) {
  const auto it = in_flight_.find(ticket);
  if (it == in_flight_.end()) return finished_.at(ticket);
  InFlight f = std::move(it->second);
  in_flight_.erase(it);
  const double transferred = f.transferred.get();  // rethrows the transfer's failure
  const double before = now();
  f.finish();
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  finished_[ticket] = transferred + (now() - before);
  return finished_[ticket];
}

Ticket TorchBackend::done() {
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());  // the op's GPU work is over
  finished_.push_back(now());
  return finished_.size() - 1;
}

std::vector<torch::Tensor> TorchBackend::momentum() {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : model_->parameters()) {
    const auto it = optimizer_.state().find(optimizer_state_key(optimizer_, p));
    out.push_back(it == optimizer_.state().end()
                      ? torch::Tensor()
                      : static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
  }
  return out;
}

void TorchBackend::set_momentum(std::size_t index, const torch::Tensor& buffer) {
  const torch::Tensor p = model_->parameters().at(index);
  auto state = std::make_unique<torch::optim::SGDParamState>();
  state->momentum_buffer(buffer.to(p.device(), /*non_blocking=*/false, /*copy=*/true));
  optimizer_.state()[optimizer_state_key(optimizer_, p)] = std::move(state);
  ++momentum_generation_;  // a captured step holds the buffer it replaced
}

}  // namespace resist::exec
