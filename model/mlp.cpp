// IST's fully connected network: hidden Linear-BatchNorm1d-ReLU layers and a linear output.
#include <fmt/format.h>

#include "model/catalogue.hpp"
#include "model/cost_counter.hpp"

namespace resist {

Network build_mlp(const ModelSpec& spec) {
  if (spec.hidden.empty())
    throw ModelError("hidden", "expected at least one hidden layer width for mlp");
  if (!spec.depths.empty())
    throw ModelError("depths", "stage depths apply to ResNets only, not mlp");
  Network net;
  net.spec = spec;
  int features = spec.input[0] * spec.input[1] * spec.input[2];
  for (std::size_t i = 0; i < spec.hidden.size(); ++i) {
    const int width = spec.hidden[i];
    if (width < 1)
      throw ModelError("hidden", fmt::format("expected hidden widths >= 1, found {}", width));
    Block b;
    b.id = fmt::format("fc{}", i + 1);
    b.kind = BlockKind::hidden;
    b.index = static_cast<int>(i);
    b.in_channels = features;
    b.out_channels = width;
    b.in_size = b.out_size = {1, 1};
    CostCounter c;
    c.linear(features, width, true);
    c.batch_norm(width, {1, 1});
    c.relu(width, {1, 1});
    c.fill(b);
    net.blocks.push_back(b);
    features = width;
  }
  Block out;
  out.id = "out";
  out.kind = BlockKind::output;
  out.index = static_cast<int>(spec.hidden.size());
  out.in_channels = features;
  out.out_channels = spec.classes;
  out.in_size = out.out_size = {1, 1};
  CostCounter c;
  c.linear(features, spec.classes, true);
  c.fill(out);
  net.blocks.push_back(out);
  return net;
}

}  // namespace resist
