// Accumulates the exact costs of the layers that make up one block.
#pragma once

#include <cstdint>

#include "model/block.hpp"

namespace resist {

/// Counts parameters, buffers, forward FLOPs and saved activations layer by layer.
/// Conventions: a multiply-add is 2 FLOPs; BatchNorm 2 FLOPs per element (scale and shift),
/// ReLU and residual addition 1 per element, pooling one per window element.
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
  void elementwise(double flops_per_element, int channels, Size2 at, bool saved);

  std::int64_t params_ = 0;
  std::int64_t buffers_ = 0;
  double flops_ = 0;
  std::int64_t activations_ = 0;
};

}  // namespace resist
