// Accumulates the exact costs of the layers that make up one block.
#pragma once

#include <cstdint>

#include "model/block.hpp"

namespace resist {

/// Counts parameters, buffers, forward FLOPs, saved activations and memory traffic layer by layer.
/// Conventions: a multiply-add is 2 FLOPs; BatchNorm 2 FLOPs per element (scale and shift),
/// ReLU and residual addition 1 per element, pooling one per window element.
/// Traffic, elements read or written per sample over forward and backward, each tensor once per
/// pass over it: a convolution or linear layer reads its input and writes its output, its backward
/// reads the output's gradient and writes the input's, and reads both again for the weights'
/// gradient (3 x (in + out)); BatchNorm in training reads its input for the statistics, then reads
/// it and writes the output, and its backward reads gradient and input twice (reductions, then
/// the input's gradient) and writes that (8 per element); ReLU 2 forward, 3 backward (5); an
/// addition reads two and writes one (its backward passes the gradient on: 3); pooling reads its
/// input and writes its output each way (2 x (in + out)). Weights are per batch, not counted here.
class CostCounter {
 public:
  /// Convolution without bias; returns the output size.
  Size2 conv(int in_channels, int out_channels, int kernel, int stride, int padding, Size2 in);
  /// BatchNorm2d over a feature map (weight, bias; running mean and variance as buffers).
  void batch_norm(int channels, Size2 at);
  /// ReLU over a feature map.
  void relu(int channels, Size2 at);
  /// Element-wise residual addition.
  void add(int channels, Size2 at);
  /// Max pooling; returns the output size.
  Size2 max_pool(int channels, int kernel, int stride, int padding, Size2 in);
  /// Global average pooling to 1x1.
  void global_avg_pool(int channels, Size2 in);
  /// Fully connected layer.
  void linear(int in_features, int out_features, bool bias);

  /// Copies the totals into a block.
  void fill(Block& block) const;

 private:
  void elementwise(double flops_per_element, int channels, Size2 at, bool saved, int traffic_per_element);

  std::int64_t params_ = 0;
  std::int64_t buffers_ = 0;
  double flops_ = 0;
  std::int64_t activations_ = 0;
  std::int64_t traffic_ = 0;
};

}  // namespace resist
