#include "model/cost_counter.hpp"

namespace resist {
namespace {

int out_extent(int in, int kernel, int stride, int padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

std::int64_t elements(int channels, Size2 at) {
  return static_cast<std::int64_t>(channels) * at.h * at.w;
}

}  // namespace

Size2 CostCounter::conv(int in_channels, int out_channels, int kernel, int stride, int padding,
                        Size2 in) {
  Size2 out{out_extent(in.h, kernel, stride, padding), out_extent(in.w, kernel, stride, padding)};
  std::int64_t weights = static_cast<std::int64_t>(in_channels) * out_channels * kernel * kernel;
  params_ += weights;
  flops_ += 2.0 * static_cast<double>(weights) * out.h * out.w;
  activations_ += elements(out_channels, out);
  traffic_ += 3 * (elements(in_channels, in) + elements(out_channels, out));
  return out;
}

void CostCounter::batch_norm(int channels, Size2 at) {
  params_ += 2 * channels;
  buffers_ += 2 * channels;
  elementwise(2.0, channels, at, true, 8);
}

void CostCounter::relu(int channels, Size2 at) { elementwise(1.0, channels, at, true, 5); }

void CostCounter::add(int channels, Size2 at) { elementwise(1.0, channels, at, false, 3); }

Size2 CostCounter::max_pool(int channels, int kernel, int stride, int padding, Size2 in) {
  Size2 out{out_extent(in.h, kernel, stride, padding), out_extent(in.w, kernel, stride, padding)};
  elementwise(static_cast<double>(kernel) * kernel, channels, out, true, 2);
  traffic_ += 2 * elements(channels, in);
  return out;
}

void CostCounter::global_avg_pool(int channels, Size2 in) {
  flops_ += static_cast<double>(elements(channels, in));
  activations_ += channels;
  traffic_ += 2 * (elements(channels, in) + channels);
}

void CostCounter::linear(int in_features, int out_features, bool bias) {
  std::int64_t weights = static_cast<std::int64_t>(in_features) * out_features;
  params_ += weights + (bias ? out_features : 0);
  flops_ += 2.0 * static_cast<double>(weights) + (bias ? out_features : 0);
  activations_ += out_features;
  traffic_ += 3 * (static_cast<std::int64_t>(in_features) + out_features);
}

void CostCounter::fill(Block& block) const {
  block.params = params_;
  block.buffers = buffers_;
  block.forward_flops = flops_;
  block.activations = activations_;
  block.traffic = traffic_;
}

void CostCounter::elementwise(double flops_per_element, int channels, Size2 at, bool saved,
                              int traffic_per_element) {
  std::int64_t n = elements(channels, at);
  flops_ += flops_per_element * static_cast<double>(n);
  if (saved) activations_ += n;
  traffic_ += traffic_per_element * n;
}

}  // namespace resist
