// A training iteration captured once as a CUDA graph and replayed: the forward pass, the backward
// pass, the optimizer step and the loss's running sum reach the GPU as one launch instead of
// hundreds of kernel launches, which is what bounds a small network's step on a fast GPU.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "exec/network_module.hpp"

namespace resist::exec {

/// Why this build cannot capture CUDA graphs (a LibTorch without CUDA, or resist built without the
/// CUDA runtime's headers); none when it can.
std::optional<std::string> cuda_graphs_unavailable();

class StepGraph {
 public:
  /// One training iteration on `batch`: forward, backward and optimizer step; returns the loss (a
  /// scalar on the device). It must leave the parameters' gradients undefined before its backward
  /// pass (set_to_none), so that the graph's backward pass writes them afresh on every replay.
  using Iteration = std::function<torch::Tensor(const Batch&)>;

  /// Trains `warm_up` eager iterations on batches from `next` on a side stream of their device
  /// (they settle cuDNN's algorithms, the allocator and the optimizer's momentum buffers, which
  /// the graph then updates in place), then captures `iteration` on one more batch's shapes and
  /// replays it on that batch. `trained` counts the iterations done (also when it throws) and
  /// `warm_up_loss` gets their losses added. The graph holds the parameters, gradients, momentum
  /// buffers and learning rate it saw: whoever replaces one of those tensors or changes the rate
  /// captures anew. Throws std::runtime_error where cuda_graphs_unavailable() or the batch is not
  /// on a GPU, and what LibTorch throws when capture fails (an op that synchronises with the host).
  static std::unique_ptr<StepGraph> capture(const Iteration& iteration, const std::function<Batch()>& next,
                                            int warm_up, torch::Tensor& warm_up_loss, std::uint32_t& trained);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  /// Copies `batch` into the graph's inputs and replays the iteration on the current stream
  /// (std::invalid_argument for a batch of other shapes).
  void run(const Batch& batch);
  /// The losses of the replays since capture or reset_loss(), summed on the device.
  torch::Tensor loss_sum() const;
  void reset_loss();

 private:
  StepGraph();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resist::exec
