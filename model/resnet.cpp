// ResNet builders: pre-activation ResNets for 32x32 inputs and torchvision's ImageNet ResNets.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model/catalogue.hpp"
#include "model/cost_counter.hpp"

namespace resist {
namespace {

constexpr std::array<int, 4> kBaseWidths{64, 128, 256, 512};

struct Shape {
  int channels;
  Size2 size;
};

Block make_block(std::string id, BlockKind kind, int stage, int index, Shape in) {
  Block b;
  b.id = std::move(id);
  b.kind = kind;
  b.stage = stage;
  b.index = index;
  b.in_channels = in.channels;
  b.in_size = in.size;
  return b;
}

/// Costs of one residual block; returns the output shape.
Shape residual_block(Block& b, bool preact, bool bottleneck, int planes, int stride) {
  CostCounter c;
  const int in = b.in_channels;
  const int out = bottleneck ? 4 * planes : planes;
  const Size2 at = b.in_size;
  b.projection = stride != 1 || in != out;
  Size2 end;
  if (preact) {
    c.batch_norm(in, at);
    c.relu(in, at);
    if (b.projection) c.conv(in, out, 1, stride, 0, at);
    if (bottleneck) {
      Size2 a = c.conv(in, planes, 1, 1, 0, at);
      c.batch_norm(planes, a);
      c.relu(planes, a);
      Size2 m = c.conv(planes, planes, 3, stride, 1, a);
      c.batch_norm(planes, m);
      c.relu(planes, m);
      end = c.conv(planes, out, 1, 1, 0, m);
    } else {
      Size2 m = c.conv(in, planes, 3, stride, 1, at);
      c.batch_norm(planes, m);
      c.relu(planes, m);
      end = c.conv(planes, planes, 3, 1, 1, m);
    }
    c.add(out, end);
  } else {
    Size2 m;
    if (bottleneck) {
      Size2 a = c.conv(in, planes, 1, 1, 0, at);
      c.batch_norm(planes, a);
      c.relu(planes, a);
      m = c.conv(planes, planes, 3, stride, 1, a);
    } else {
      m = c.conv(in, planes, 3, stride, 1, at);
    }
    c.batch_norm(planes, m);
    c.relu(planes, m);
    end = bottleneck ? c.conv(planes, out, 1, 1, 0, m) : c.conv(planes, planes, 3, 1, 1, m);
    c.batch_norm(out, end);
    if (b.projection) {
      c.conv(in, out, 1, stride, 0, at);
      c.batch_norm(out, end);
    }
    c.add(out, end);
    c.relu(out, end);
  }
  c.fill(b);
  b.kind = preact ? (bottleneck ? BlockKind::preact_bottleneck : BlockKind::preact_basic)
                  : (bottleneck ? BlockKind::bottleneck : BlockKind::basic);
  b.out_channels = out;
  b.out_size = end;
  b.stride = stride;
  return {out, end};
}

Shape add_stem(Network& net, bool preact, int width, Shape in) {
  Block b = make_block("conv1", preact ? BlockKind::stem_3x3 : BlockKind::stem_7x7, -1, 0, in);
  CostCounter c;
  Size2 out;
  if (preact) {
    out = c.conv(in.channels, width, 3, 1, 1, in.size);
  } else {
    Size2 conv = c.conv(in.channels, width, 7, 2, 3, in.size);
    c.batch_norm(width, conv);
    c.relu(width, conv);
    out = c.max_pool(width, 3, 2, 1, conv);
    b.stride = 4;
  }
  c.fill(b);
  b.out_channels = width;
  b.out_size = out;
  net.blocks.push_back(b);
  return {width, out};
}

void add_head(Network& net, bool preact, int classes, Shape in) {
  Block b = make_block("fc", preact ? BlockKind::head_preact : BlockKind::head, -1, 0, in);
  CostCounter c;
  if (preact) {
    c.batch_norm(in.channels, in.size);
    c.relu(in.channels, in.size);
  }
  c.global_avg_pool(in.channels, in.size);
  c.linear(in.channels, classes, true);
  c.fill(b);
  b.out_channels = classes;
  b.out_size = {1, 1};
  net.blocks.push_back(b);
}

std::array<int, 4> stage_widths(double width) {
  std::array<int, 4> out{};
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = std::max(1, static_cast<int>(std::lround(kBaseWidths[i] * width)));
  return out;
}

std::vector<int> checked_depths(const ModelSpec& spec, const ResNetRecipe& recipe) {
  if (spec.depths.empty()) return {recipe.depths.begin(), recipe.depths.end()};
  if (spec.depths.size() != 4)
    throw ModelError("depths", fmt::format("expected 4 stage depths, found {}", spec.depths.size()));
  for (int d : spec.depths)
    if (d < 1) throw ModelError("depths", fmt::format("expected depths >= 1, found {}", d));
  return spec.depths;
}

}  // namespace

Network build_resnet(const ModelSpec& spec, const ResNetRecipe& recipe) {
  if (!(spec.width > 0) || spec.width > 64)
    throw ModelError("width", fmt::format("expected a width multiplier in (0, 64], found {}",
                                          spec.width));
  const std::vector<int> depths = checked_depths(spec, recipe);
  const std::array<int, 4> widths = stage_widths(spec.width);
  Network net;
  net.spec = spec;
  Shape shape{spec.input[0], {spec.input[1], spec.input[2]}};
  shape = add_stem(net, recipe.preact, widths[0], shape);
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < depths[s]; ++i) {
      const int stride = (s > 0 && i == 0) ? 2 : 1;
      Block b = make_block(fmt::format("layer{}.{}", s + 1, i), BlockKind::preact_basic, s, i,
                           shape);
      shape = residual_block(b, recipe.preact, recipe.bottleneck, widths[s], stride);
      b.partitionable = s == 2 && stride == 1;
      net.blocks.push_back(std::move(b));
    }
  }
  add_head(net, recipe.preact, spec.classes, shape);
  return net;
}

}  // namespace resist
