#include "model/model_text.hpp"

#include <cmath>

#include <fmt/format.h>

namespace resist {

std::string si(double value, int precision) {
  static constexpr const char* kPrefix[] = {"", "k", "M", "G", "T", "P", "E"};
  int i = 0;
  double v = value;
  while (std::fabs(v) >= 1000.0 && i < 6) {
    v /= 1000.0;
    ++i;
  }
  return fmt::format("{:.{}g} {}", v, precision, kPrefix[i]);
}

std::string network_table(const Network& net, Dtype dtype) {
  std::string out = fmt::format("{} ({} classes, input {}x{}x{}, width x{})\n", net.spec.arch,
                                net.spec.classes, net.spec.input[0], net.spec.input[1],
                                net.spec.input[2], net.spec.width);
  out += fmt::format("{:<12} {:<18} {:>11} {:>9} {:>12} {:>11} {:>13} {:>11} {:>12}  {}\n", "block", "kind",
                     "channels", "output", "params", fmt::format("{} MB", to_string(dtype)),
                     "fwd FLOP/smp", "act/sample", "traffic/smp", "ResIST");
  for (const Block& b : net.blocks) {
    out += fmt::format("{:<12} {:<18} {:>11} {:>9} {:>12} {:>11.3f} {:>13} {:>11} {:>12}  {}\n", b.id,
                       to_string(b.kind), fmt::format("{}->{}", b.in_channels, b.out_channels),
                       fmt::format("{}x{}", b.out_size.h, b.out_size.w), b.params,
                       static_cast<double>(b.state_bytes(dtype)) / 1e6, si(b.forward_flops),
                       si(static_cast<double>(b.activations)), si(static_cast<double>(b.traffic)),
                       b.partitionable ? "partitioned" : "shared");
  }
  const double state_mb = static_cast<double>((net.total_params() + net.total_buffers()) *
                                              dtype_bytes(dtype)) / 1e6;
  out += fmt::format("total: {} blocks, {} parameters, {} buffer elements, {:.3f} MB state ({}), "
                     "{}FLOP forward per sample, {}FLOP train per sample, {}B of memory traffic per sample "
                     "({}), {} partitionable\n",
                     net.blocks.size(), net.total_params(), net.total_buffers(), state_mb,
                     to_string(dtype), si(net.total_forward_flops()),
                     si(3.0 * net.total_forward_flops()),
                     si(static_cast<double>(net.total_traffic() * dtype_bytes(dtype))), to_string(dtype),
                     net.partitionable_blocks().size());
  return out;
}

nlohmann::json network_json(const Network& net) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const Block& b : net.blocks) {
    blocks.push_back({{"id", b.id},
                      {"kind", to_string(b.kind)},
                      {"stage", b.stage},
                      {"index", b.index},
                      {"in_channels", b.in_channels},
                      {"out_channels", b.out_channels},
                      {"stride", b.stride},
                      {"in_size", {b.in_size.h, b.in_size.w}},
                      {"out_size", {b.out_size.h, b.out_size.w}},
                      {"projection", b.projection},
                      {"params", b.params},
                      {"buffers", b.buffers},
                      {"bytes", {{"fp32", b.state_bytes(Dtype::fp32)},
                                 {"fp16", b.state_bytes(Dtype::fp16)},
                                 {"bf16", b.state_bytes(Dtype::bf16)}}},
                      {"forward_flops", b.forward_flops},
                      {"activations", b.activations},
                      {"traffic", b.traffic},
                      {"partitionable", b.partitionable}});
  }
  return {{"arch", net.spec.arch},
          {"classes", net.spec.classes},
          {"input", net.spec.input},
          {"width", net.spec.width},
          {"blocks", blocks},
          {"total_params", net.total_params()},
          {"total_buffers", net.total_buffers()},
          {"total_flops", net.total_forward_flops()},
          {"total_train_flops", 3.0 * net.total_forward_flops()},
          {"total_activations", net.total_activations()},
          {"total_traffic", net.total_traffic()},
          {"partitionable_blocks", net.partitionable_blocks().size()}};
}

}  // namespace resist
