// One worker's stage of layer-parallel training with AuxNets (plan strategy layer_parallel): the
// AuxNet that makes its input, and the tensors of the current iteration that cross its cuts. The
// TorchBackend hands it the layer-parallel compute ops and the tensors those ops send and receive.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/torch.h>

#include "exec/data_feed.hpp"
#include "exec/network_module.hpp"
#include "plan/plan.hpp"

namespace resist::exec {

class LayerStage {
 public:
  /// Stage `self` of the plan; `autocast` and the layout of 4-D tensors as the worker trains.
  LayerStage(const Scenario& s, const Plan& plan, WorkerId self, torch::Device device,
             std::optional<torch::ScalarType> autocast, bool channels_last);

  /// ComputePart::aux_forward: draws the iteration's batch and runs the AuxNet on it (its output
  /// is the stage's input and the target the stage before trains towards).
  void aux_forward(const Round& round, DataFeed& feed);
  /// ComputePart::train: the stage's blocks on its input (the image for the first stage), the
  /// task loss on the last stage, the penalty towards the next stage's AuxNet output on the others
  /// (with the augmented-Lagrangian term where the method says); backward and a step of
  /// `optimizer` (the model's). Returns the loss.
  torch::Tensor train(const Round& round, DataFeed& feed, NetModel& model, torch::optim::SGD& optimizer);
  /// ComputePart::aux_update: the AuxNet takes a step towards the auxiliary variable's new value,
  /// the stage before's output moved against this stage's input gradient (a step of 1/beta).
  void aux_update(const Round& round);

  /// What a send of this payload carries: the AuxNet's output (aux_output) or the stage's output.
  torch::Tensor outgoing(Payload payload) const;
  /// Where a receive of this payload lands (fp32, shaped as the tensor at that cut): the next
  /// stage's AuxNet output (the penalty's target) or the stage before's output (the AuxNet
  /// update's anchor).
  torch::Tensor incoming(Payload payload);

  /// The penalty weight after `round`'s epochs (beta times beta_growth per epoch passed).
  double beta(std::uint64_t round) const;

 private:
  void draw(const Round& round, DataFeed& feed);
  /// method = augmented_lagrangian.
  bool augmented() const;
  /// The batch's multipliers (allocated, zero, on first use: one per sample of the feed).
  torch::Tensor batch_multipliers(const DataFeed& feed);
  /// After the step: the output sent on becomes z + mu/beta, and mu += beta (z - target).
  void update_multipliers(const Round& round);

  const Scenario& s_;
  const Plan& plan_;
  std::size_t self_;
  torch::Device device_;
  std::optional<torch::ScalarType> autocast_;
  bool channels_last_;
  torch::nn::Sequential aux_{nullptr};
  std::optional<torch::optim::SGD> aux_optimizer_;
  std::optional<std::uint64_t> drawn_round_;
  Batch batch_;
  torch::Tensor aux_out_;    // the AuxNet's output, with its graph (until its update)
  torch::Tensor input_;      // the stage's input (detached AuxNet output, or the images)
  torch::Tensor input_grad_; // the stage's loss's gradient at its input
  torch::Tensor output_;     // the stage's output (detached)
  torch::Tensor target_;     // the next stage's AuxNet output, received
  torch::Tensor anchor_;     // the stage before's output, received
  torch::Tensor multipliers_;  // augmented Lagrangian: [samples, cut's tensor] on the stage before a cut
};

}  // namespace resist::exec
