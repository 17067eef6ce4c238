// The architectures resist knows, by name.
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "model/network.hpp"

namespace resist {

/// How a named ResNet is put together.
struct ResNetRecipe {
  bool preact = true;          ///< pre-activation blocks, 3x3 stem, for 32x32 inputs
  bool bottleneck = false;     ///< bottleneck blocks (x4 expansion) instead of basic ones
  std::array<int, 4> depths{}; ///< blocks per stage
};

/// One catalogue entry.
struct ArchInfo {
  std::string_view name;
  std::string_view description;
  bool is_mlp = false;
  ResNetRecipe recipe{};
};

/// Every architecture, in listing order.
std::span<const ArchInfo> architectures();

/// The entry for a name; throws ModelError("arch") for an unknown one.
const ArchInfo& find_architecture(std::string_view name);

/// Builds the network a spec describes; throws ModelError naming the field at fault.
Network build_network(const ModelSpec& spec);

/// Builds a ResNet from a recipe (used by build_network).
Network build_resnet(const ModelSpec& spec, const ResNetRecipe& recipe);

/// Builds IST's fully connected net (used by build_network).
Network build_mlp(const ModelSpec& spec);

}  // namespace resist
