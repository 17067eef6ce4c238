#include "model/catalogue.hpp"

#include <fmt/format.h>

namespace resist {
namespace {

constexpr ArchInfo kArchitectures[] = {
    {"preact_resnet18", "pre-activation ResNet-18, basic blocks [2,2,2,2], 32x32 form", false,
     {true, false, {2, 2, 2, 2}}},
    {"preact_resnet34", "pre-activation ResNet-34, basic blocks [3,4,6,3], 32x32 form", false,
     {true, false, {3, 4, 6, 3}}},
    {"preact_resnet101", "pre-activation ResNet-101 as ResIST builds it, basic blocks [3,4,23,3]",
     false, {true, false, {3, 4, 23, 3}}},
    {"preact_resnet152", "pre-activation ResNet-152 as ResIST builds it, basic blocks [3,4,36,3]",
     false, {true, false, {3, 4, 36, 3}}},
    {"preact_resnet200", "pre-activation ResNet-200 as ResIST builds it, basic blocks [3,4,50,3]",
     false, {true, false, {3, 4, 50, 3}}},
    {"preact_bottleneck_resnet50", "pre-activation bottleneck ResNet-50 [3,4,6,3], 32x32 form",
     false, {true, true, {3, 4, 6, 3}}},
    {"preact_bottleneck_resnet101", "pre-activation bottleneck ResNet-101 [3,4,23,3], 32x32 form",
     false, {true, true, {3, 4, 23, 3}}},
    {"preact_bottleneck_resnet152", "pre-activation bottleneck ResNet-152 [3,8,36,3], 32x32 form",
     false, {true, true, {3, 8, 36, 3}}},
    {"preact_bottleneck_resnet200", "pre-activation bottleneck ResNet-200 [3,24,36,3], 32x32 form",
     false, {true, true, {3, 24, 36, 3}}},
    {"resnet18", "torchvision ResNet-18 (ImageNet form, 7x7 stem)", false,
     {false, false, {2, 2, 2, 2}}},
    {"resnet34", "torchvision ResNet-34 (ImageNet form, 7x7 stem)", false,
     {false, false, {3, 4, 6, 3}}},
    {"resnet50", "torchvision ResNet-50 v1.5 (ImageNet form, bottlenecks)", false,
     {false, true, {3, 4, 6, 3}}},
    {"resnet101", "torchvision ResNet-101 v1.5 (ImageNet form, bottlenecks)", false,
     {false, true, {3, 4, 23, 3}}},
    {"resnet152", "torchvision ResNet-152 v1.5 (ImageNet form, bottlenecks)", false,
     {false, true, {3, 8, 36, 3}}},
    {"mlp", "fully connected net for IST: Linear-BatchNorm1d-ReLU per hidden layer", true, {}},
};

std::string known_names() {
  std::string out;
  for (const ArchInfo& a : kArchitectures) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

void check_common(const ModelSpec& spec) {
  if (spec.classes < 1)
    throw ModelError("classes", fmt::format("expected at least 1 class, found {}", spec.classes));
  for (int d : spec.input)
    if (d < 1)
      throw ModelError("input", fmt::format("expected positive input dimensions, found {}x{}x{}",
                                            spec.input[0], spec.input[1], spec.input[2]));
}

}  // namespace

std::span<const ArchInfo> architectures() { return kArchitectures; }

const ArchInfo& find_architecture(std::string_view name) {
  for (const ArchInfo& a : kArchitectures)
    if (a.name == name) return a;
  throw ModelError("arch", fmt::format("unknown architecture '{}'; known: {}", name, known_names()));
}

Network build_network(const ModelSpec& spec) {
  const ArchInfo& info = find_architecture(spec.arch);
  check_common(spec);
  if (info.is_mlp) return build_mlp(spec);
  if (!spec.hidden.empty())
    throw ModelError("hidden", fmt::format("hidden widths apply to mlp only, not {}", spec.arch));
  return build_resnet(spec, info.recipe);
}

}  // namespace resist
