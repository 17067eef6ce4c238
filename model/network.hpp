// A whole network: the ordered blocks of one architecture, with their costs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/block.hpp"

namespace resist {

/// What to build: an architecture name and the knobs that make small or custom variants.
struct ModelSpec {
  std::string arch = "preact_resnet18";
  int classes = 10;
  std::array<int, 3> input{3, 32, 32};  ///< channels, height, width of one sample
  double width = 1.0;                   ///< multiplies the stage widths 64/128/256/512
  std::vector<int> depths;              ///< blocks per stage; empty keeps the architecture's own
  std::vector<int> hidden;              ///< hidden layer widths (mlp only)
};

/// A model description that cannot be built. `field` names the ModelSpec member at fault.
class ModelError : public std::invalid_argument {
 public:
  ModelError(std::string field, const std::string& message)
      : std::invalid_argument(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

/// The blocks of a network in forward order.
struct Network {
  ModelSpec spec;
  std::vector<Block> blocks;

  std::int64_t total_params() const;
  std::int64_t total_buffers() const;
  double total_forward_flops() const;
  std::int64_t total_activations() const;
  std::int64_t total_traffic() const;  ///< memory traffic per sample (Block::traffic)
  /// Indices of the blocks ResIST deals to sub-ResNets, in forward order.
  std::vector<std::size_t> partitionable_blocks() const;
  /// Indices of the hidden layers IST splits by neuron, in forward order.
  std::vector<std::size_t> hidden_layers() const;
  /// Index of the block with this id.
  std::optional<std::size_t> find(std::string_view id) const;
  /// True for the fully connected family.
  bool is_mlp() const;
};

}  // namespace resist
