// LibTorch modules built from the model catalogue's blocks, with the same block ids.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "model/network.hpp"

namespace resist::exec {

/// A network of the catalogue: a pre-activation ResNet whose partitionable blocks can be switched
/// off (a sub-ResNet) and whose partitionable residual branches take a scale (a test-time scale),
/// or an MLP (hidden Linear-BatchNorm1d-ReLU layers, linear output) whose sub-networks are slices
/// of hidden neurons.
class NetModelImpl : public torch::nn::Module {
 public:
  /// Throws std::invalid_argument for block kinds the executor does not build yet.
  explicit NetModelImpl(const Network& net);

  /// Runs the blocks whose `active` flag is set; `partitioned_scale` multiplies the residual branch
  /// of partitionable blocks.
  torch::Tensor forward(torch::Tensor x, const std::vector<char>& active, double partitioned_scale);
  /// Block `i` alone (its input as the block before it gives it).
  torch::Tensor forward_block(std::size_t i, torch::Tensor x, double partitioned_scale = 1.0);

  /// Lays every 4-D parameter out channels-last (NHWC), in place: the tensors keep their identity
  /// (optimizers and state() still hold them), only their strides change.
  void to_channels_last();

  /// A block's parameters and floating-point buffers, in a fixed order (what the plan moves).
  std::vector<torch::Tensor> state(std::size_t block);
  /// Names of state(block)'s tensors in the module's state_dict ("layer1_0.conv1.weight", ...);
  /// with `all_buffers`, BatchNorm's integer counters too (a complete state_dict).
  std::vector<std::string> state_names(std::size_t block, bool all_buffers = false);
  /// The names of state_names(block, true)'s tensors in a PyTorch model of the same architecture
  /// (tools/resist_pytorch.py builds one): "conv1.weight", "layer3.5.conv1.weight", "bn.weight"
  /// and "fc.weight" of the pre-activation head; "fc1.weight", "bn1.running_mean", "out.bias" of
  /// the mlp.
  std::vector<std::string> pytorch_names(std::size_t block);
  /// (mlp only): copies of the tensors of the sub-network keeping `neurons[l]` of hidden layer
  /// l, in a fixed order (per layer: weight rows and columns, bias, BN weight, bias, running mean,
  /// variance; then the output weight's columns and the whole output bias).
  std::vector<torch::Tensor> neuron_slice(const std::vector<std::vector<std::uint32_t>>& neurons);
  /// Writes such a slice back at the neurons' places.
  void write_neuron_slice(const std::vector<std::vector<std::uint32_t>>& neurons,
                       const std::vector<torch::Tensor>& slice);
  /// A block's parameters only.
  std::vector<torch::Tensor> parameters_of(std::size_t block);

 private:
  const Network net_;
  std::vector<std::shared_ptr<torch::nn::Module>> blocks_;
};
TORCH_MODULE(NetModel);

/// Whether a pre-activation block's strided 1x1 projection of `input` is computed at stride 1 on
/// the subsampled input, around a oneDNN 3.x heap corruption (network_module.cpp,
/// PreActBlockImpl::project): on the CPU, channels-last, fewer than 16 channels.
bool needs_unit_stride_shortcut(const torch::Tensor& input, int stride);

/// The trainable tensors of a neuron slice (all but the BatchNorm running statistics).
std::vector<torch::Tensor> slice_parameters(const std::vector<torch::Tensor>& slice);

/// The forward pass of a neuron slice (from NetModelImpl::neuron_slice) on a batch; `training` uses
/// and updates the slice's BatchNorm statistics.
torch::Tensor slice_forward(const std::vector<torch::Tensor>& slice, torch::Tensor x, bool training);

/// Copies tensors into one flat buffer, and back.
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors);
void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors);

/// Synthetic classification data that can be learnt: each class has a fixed random image, samples
/// add noise to it. Deterministic in (seed, worker, step).
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
  /// The samples' positions in the feed's training set (int64, beside the images); undefined for
  /// synthetic data, whose samples are new every iteration.
  torch::Tensor indices;
};
/// A batch on `device`.
Batch on(torch::Device device, const Batch& b);

Batch synthetic_batch(const ModelSpec& spec, int batch, std::uint64_t seed, int worker,
                               std::uint64_t step);

}  // namespace resist::exec
