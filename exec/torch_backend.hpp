// The plan interpreter's backend on LibTorch and a Communicator: compute ops train the worker's
// (sub-)network for real, communication ops move its blocks' tensors. It executes what each
// operation says (exec/../plan/plan.hpp) and knows no strategy.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "exec/communicator.hpp"
#include "exec/data_feed.hpp"
#include "exec/layer_stage.hpp"
#include "exec/network_module.hpp"
#include "exec/step_graph.hpp"
#include "plan/backend.hpp"

namespace resist::exec {

/// The device a model's parameters are on.
torch::Device device_of(NetModel& model);

/// LibTorch's element type for a plan's dtype.
torch::ScalarType scalar_type(Dtype dtype);

/// Whether 4-D tensors are laid out channels-last (NHWC) for this scenario on `device`
/// (training.memory_format; auto: on GPUs with bf16 or fp16, and on the CPU).
bool use_channels_last(const Scenario& s, torch::Device device);

/// The autocast type of a scenario's training.dtype (none for fp32). Throws InputError at
/// /training/dtype for fp16 on the CPU (LibTorch has no fp16 CPU convolutions to autocast to).
std::optional<torch::ScalarType> autocast_type(const Scenario& s, torch::Device device);

/// The scenario's SGD settings (momentum, weight decay) at learning rate `lr`.
torch::optim::SGDOptions sgd_options(const Scenario& s, double lr);

/// One SGD step over every parameter of `optimizer` that has a gradient, in multi-tensor
/// (foreach) ops: a handful of kernel launches per step on a GPU instead of several per
/// parameter. Bit for bit what `optimizer.step()` computes (momentum, dampening, Nesterov, weight
/// decay); the momentum buffers stay in the optimizer's state, where checkpoints read them.
void multi_tensor_sgd_step(torch::optim::SGD& optimizer);

/// fp16's dynamic loss scale, as PyTorch's GradScaler keeps it: the loss is multiplied by
/// scale() before backward; unscale() divides the gradients back and says whether all are
/// finite; a step with a non-finite gradient is skipped and halves the scale, 2,000 finite steps
/// in a row double it. Deciding to skip reads one flag from the device per step (as GradScaler).
class LossScaler {
 public:
  explicit LossScaler(double scale = 65536.0, int growth_interval = 2000)
      : scale_(scale), growth_interval_(growth_interval) {}
  double scale() const { return scale_; }
  /// Divides the defined gradients by the scale in place; true when every one is finite.
  bool unscale(const std::vector<torch::Tensor>& parameters);
  /// After a step: halve on a non-finite gradient, double after growth_interval finite steps.
  void update(bool finite);

 private:
  double scale_;
  int growth_interval_;
  int finite_steps_ = 0;
};

class TorchBackend final : public Backend {
 public:
  /// `clock` gives now(): seconds on the clock every worker of the job shares.
  TorchBackend(const Scenario& s, const Plan& plan, NetModel& model, Communicator& comm, DataFeed& feed,
               WorkerId self, std::function<double()> clock);

  Ticket compute(const OpCall& call) override;
  Ticket send(const OpCall& call, WorkerId peer) override;
  Ticket recv(const OpCall& call, WorkerId peer) override;
  Ticket collective(const OpCall& call) override;
  /// Completes a communication started earlier (its results put in place) or returns a compute
  /// op's end. A communication ends when its transfer did, plus the time putting results in place
  /// took.
  double wait(Ticket ticket) override;
  double now() override { return clock_(); }

  /// Mean training loss of the last compute op.
  double round_loss() const { return round_loss_; }
  /// Samples trained on so far (by this backend object).
  std::uint64_t samples() const { return samples_; }

  /// Training steps captured as CUDA graphs so far (training.cuda_graphs, on GPUs).
  std::uint64_t captures() const { return captures_; }

  /// Momentum buffer of each of the model's parameters (undefined before its first step).
  std::vector<torch::Tensor> momentum();
  void set_momentum(std::size_t index, const torch::Tensor& buffer);

 private:
  /// Eager iterations before a CUDA graph is captured.
  static constexpr int kGraphWarmUp = 3;
  /// What a captured step holds fixed: the blocks it trains, the learning rate, the momentum
  /// buffers (replaced on resume).
  struct GraphKey {
    std::vector<char> active;
    double learning_rate = 0;
    std::uint64_t momentum_generation = 0;
    bool operator==(const GraphKey&) const = default;
  };
  /// Whether a compute op's iterations run as a captured CUDA graph.
  bool graphable(const OpCall& call) const;
  std::uint32_t train_graphed(const OpCall& call, const std::vector<char>& active,
                              const StepGraph::Iteration& iteration, torch::Tensor& loss_sum);
  Ticket compute_slice(const OpCall& call);
  Ticket compute_stage(const OpCall& call);
  /// Layer-parallel: whether an op's tensors are the stage's cut tensors, not blocks' state.
  bool at_cut(const Op& op) const { return op.payload == Payload::stage_output || op.payload == Payload::aux_output; }
  /// Forward and backward of one batch (autocast and loss scale as the scenario says); the loss.
  torch::Tensor forward_backward(const Batch& batch, const std::function<torch::Tensor(const torch::Tensor&)>& net);
  /// The optimizer step after forward_backward (skipped when fp16's gradients are not finite).
  void step(torch::optim::SGD& optimizer, const std::vector<torch::Tensor>& parameters);
  /// The tensors, flattened into one in the plan's dtype (what travels).
  torch::Tensor wire(const std::vector<torch::Tensor>& tensors) const;
  std::vector<torch::Tensor> state(const Op& op);
  void set_learning_rate(std::uint64_t round);
  void average_common(const OpCall& call, std::vector<torch::Tensor>& slice);
  Ticket done();
  /// A communication under way: its transfer runs on a thread of its own (so that its end is
  /// seen when it happens), `then` after it, on this thread, when it is waited for.
  Ticket started(Pending pending, std::function<void()> then = {});

  const Scenario& s_;
  const Plan& plan_;
  NetModel& model_;
  Communicator& comm_;
  DataFeed& feed_;
  WorkerId self_;
  std::function<double()> clock_;
  torch::Device device_;
  torch::ScalarType wire_type_;
  bool channels_last_;
  std::optional<torch::ScalarType> autocast_;
  std::unique_ptr<LossScaler> scaler_;  // fp16 only
  torch::optim::SGD optimizer_;
  std::unique_ptr<LayerStage> stage_;  // layer-parallel plans only
  bool graphs_ = false;                 // training.cuda_graphs, where this build and device allow
  std::unique_ptr<StepGraph> graph_;    // the last captured step
  GraphKey graph_key_;
  std::uint64_t captures_ = 0, momentum_generation_ = 0;
  std::vector<double> finished_;
  struct InFlight {
    std::future<double> transferred;  // the clock when the transfer ended
    std::function<void()> finish;
  };
  std::unordered_map<Ticket, InFlight> in_flight_;
  std::uint64_t samples_ = 0;
  double round_loss_ = 0;
  torch::Tensor own_common_, common_sum_;  // the tensor every slice holds (averaged on gathers)
  std::optional<std::uint64_t> gathered_round_;
  int common_count_ = 0;
};

}  // namespace resist::exec
