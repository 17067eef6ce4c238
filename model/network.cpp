#include "model/network.hpp"

#include <numeric>

namespace resist {
namespace {

template <typename T, typename F>
T sum_over(const std::vector<Block>& blocks, F field) {
  return std::accumulate(blocks.begin(), blocks.end(), T{},
                         [&](T acc, const Block& b) { return acc + field(b); });
}

}  // namespace

std::int64_t Network::total_params() const {
  return sum_over<std::int64_t>(blocks, [](const Block& b) { return b.params; });
}

std::int64_t Network::total_buffers() const {
  return sum_over<std::int64_t>(blocks, [](const Block& b) { return b.buffers; });
}

double Network::total_forward_flops() const {
  return sum_over<double>(blocks, [](const Block& b) { return b.forward_flops; });
}

std::int64_t Network::total_activations() const {
  return sum_over<std::int64_t>(blocks, [](const Block& b) { return b.activations; });
}

std::int64_t Network::total_traffic() const {
  return sum_over<std::int64_t>(blocks, [](const Block& b) { return b.traffic; });
}

std::vector<std::size_t> Network::partitionable_blocks() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i].partitionable) out.push_back(i);
  return out;
}

std::vector<std::size_t> Network::hidden_layers() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i].kind == BlockKind::hidden) out.push_back(i);
  return out;
}

std::optional<std::size_t> Network::find(std::string_view id) const {
  for (std::size_t i = 0; i < blocks.size(); ++i)
    if (blocks[i].id == id) return i;
  return std::nullopt;
}

bool Network::is_mlp() const { return spec.arch == "mlp"; }

}  // namespace resist
