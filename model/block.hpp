// One unit of a network as the plan, the simulator and the executor all see it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/dtype.hpp"

namespace resist {

/// What a block computes; the executor builds its module from this and the channel counts.
enum class BlockKind {
  stem_3x3,            ///< 3x3 convolution, stride 1 (pre-activation ResNets for 32x32 inputs)
  stem_7x7,            ///< 7x7 convolution stride 2, BN, ReLU, 3x3 max pool (ImageNet ResNets)
  preact_basic,        ///< BN-ReLU-conv3x3-BN-ReLU-conv3x3, 1x1 projection shortcut if needed
  preact_bottleneck,   ///< BN-ReLU-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1 (x4 channels)
  basic,               ///< torchvision BasicBlock (conv-BN-ReLU, projection conv+BN)
  bottleneck,          ///< torchvision Bottleneck v1.5 (stride on the 3x3 convolution)
  head_preact,         ///< final BN-ReLU, global average pool, linear classifier
  head,                ///< global average pool, linear classifier
  hidden,              ///< fully connected layer with bias, BatchNorm1d, ReLU (IST)
  output,              ///< fully connected output layer with bias (IST)
};

/// Stable lower-case name of a block kind.
std::string_view to_string(BlockKind kind);

/// Spatial extent of a feature map.
struct Size2 {
  int h = 0;
  int w = 0;
  friend bool operator==(const Size2&, const Size2&) = default;
};

/// A block with its exact costs. Ids follow PyTorch module names ("conv1", "layer3.4", "fc").
struct Block {
  std::string id;
  BlockKind kind = BlockKind::preact_basic;
  int stage = -1;                ///< residual stage 0..3, or -1 for stem and head
  int index = 0;                 ///< position inside its stage
  int in_channels = 0;           ///< input channels (input features for fully connected)
  int out_channels = 0;          ///< output channels (output features for fully connected)
  int stride = 1;
  Size2 in_size;                 ///< input feature map (1x1 for fully connected)
  Size2 out_size;
  bool projection = false;       ///< residual shortcut is a 1x1 convolution
  std::int64_t params = 0;       ///< trainable parameters
  std::int64_t buffers = 0;      ///< floating-point buffers (BatchNorm running mean and variance)
  double forward_flops = 0;      ///< forward FLOPs per sample (multiply-add = 2 FLOPs)
  std::int64_t activations = 0;  ///< elements kept for the backward pass, per sample
  /// Elements of device memory its layers read and write per sample in forward and backward
  /// (feature maps and their gradients; CostCounter's conventions), for the memory-bound part of
  /// its time: BatchNorm, ReLU and additions do a FLOP or two per element they move.
  std::int64_t traffic = 0;
  bool partitionable = false;    ///< ResIST deals it to sub-ResNets (non-strided, third stage)

  /// Bytes of the block's averaged state (parameters and float buffers).
  std::uint64_t state_bytes(Dtype dtype) const;
  /// Bytes of the block's gradients.
  std::uint64_t grad_bytes(Dtype dtype) const;
  /// Forward plus backward FLOPs per sample (backward counted as twice the forward).
  double train_flops() const { return 3.0 * forward_flops; }
};

}  // namespace resist
