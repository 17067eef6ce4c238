#include "exec/network_module.hpp"

#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

namespace resist::exec {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int in, int out, int kernel, int stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

/// Pre-activation residual block, basic or bottleneck; names follow PyTorch's (bn1, conv1, ...).
class PreActBlockImpl : public nn::Module {
 public:
  explicit PreActBlockImpl(const Block& b)
      : bottleneck_(b.kind == BlockKind::preact_bottleneck), stride_(b.stride) {
    const int planes = bottleneck_ ? b.out_channels / 4 : b.out_channels;
    bn1_ = register_module("bn1", nn::BatchNorm2d(b.in_channels));
    if (bottleneck_) {
      conv1_ = register_module("conv1", conv(b.in_channels, planes, 1, 1));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, b.stride));
      bn3_ = register_module("bn3", nn::BatchNorm2d(planes));
      conv3_ = register_module("conv3", conv(planes, b.out_channels, 1, 1));
    } else {
      conv1_ = register_module("conv1", conv(b.in_channels, planes, 3, b.stride));
      bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
    }
    if (b.projection) shortcut_ = register_module("shortcut", conv(b.in_channels, b.out_channels, 1, b.stride));
  }

  // In place where autograd allows it (BatchNorm's and a convolution's backward do not need their
  // output): a pass over memory and an allocation less per ReLU and per residual sum. The same
  // values, bit for bit, as relu(...) and skip + scale * y.
  torch::Tensor forward(torch::Tensor x, double scale) {
    torch::Tensor pre = bn1_(x).relu_();
    torch::Tensor skip = shortcut_ ? project(pre) : x;
    torch::Tensor y = conv1_(pre);
    y = conv2_(bn2_(y).relu_());
    if (bottleneck_) y = conv3_(bn3_(y).relu_());
    if (scale != 1.0) y.mul_(scale);
    return y.add_(skip);
  }

  /// The projection shortcut: a 1x1 convolution at the block's stride. oneDNN 3.x (LibTorch 2.x's
  /// CPU convolutions) writes past its scratch space in the weight gradient of a strided 1x1
  /// convolution whose input is channels-last with fewer channels than its kernel's channel block
  /// (16 with AVX-512, 8 with AVX2): heap corruption, then "double free or corruption" or a
  /// segmentation fault (found with Debian 13's LibTorch 2.6 and oneDNN 3.7.2; reported upstream as
  /// uxlfoundation/oneDNN#6035, open). Such an input is subsampled first and convolved at stride 1:
  /// a 1x1 kernel without padding reads only every stride-th pixel, so the values and the weight's
  /// gradient are the strided convolution's; the parameters are the same.
  torch::Tensor project(const torch::Tensor& pre) {
    if (!needs_unit_stride_shortcut(pre, stride_)) return shortcut_(pre);
    using torch::indexing::None;
    using torch::indexing::Slice;
    return torch::conv2d(pre.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)}),
                         shortcut_->weight);
  }

 private:
  bool bottleneck_;
  int stride_;
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, shortcut_{nullptr};
};
TORCH_MODULE(PreActBlock);

class HeadImpl : public nn::Module {
 public:
  explicit HeadImpl(const Block& b) {
    bn_ = register_module("bn", nn::BatchNorm2d(b.in_channels));
    fc_ = register_module("fc", nn::Linear(b.in_channels, b.out_channels));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::adaptive_avg_pool2d(bn_(x).relu_(), {1, 1}).flatten(1);
    return fc_(x);
  }

 private:
  nn::BatchNorm2d bn_{nullptr};
  nn::Linear fc_{nullptr};
};
TORCH_MODULE(Head);

/// The MLP's hidden layer: Linear (with bias), BatchNorm1d, ReLU; flattens its input.
class HiddenImpl : public nn::Module {
 public:
  explicit HiddenImpl(const Block& b) {
    fc_ = register_module("fc", nn::Linear(b.in_channels, b.out_channels));
    bn_ = register_module("bn", nn::BatchNorm1d(b.out_channels));
  }
  torch::Tensor forward(torch::Tensor x) { return torch::relu(bn_(fc_(x.flatten(1)))); }

 private:
  nn::Linear fc_{nullptr};
  nn::BatchNorm1d bn_{nullptr};
};
TORCH_MODULE(Hidden);

std::string module_name(const std::string& id) {
  std::string out = id;
  for (char& c : out)
    if (c == '.') c = '_';
  return out;
}

}  // namespace

bool needs_unit_stride_shortcut(const torch::Tensor& input, int stride) {
  constexpr std::int64_t kWidestChannelBlock = 16;  // AVX-512's, f32; AVX2's is 8
  // LibTorch hands oneDNN an NHWC source when the input or the weight is channels-last; a 1x1
  // weight's layout is ambiguous and never suggests channels-last, so the input decides.
  return stride > 1 && input.device().is_cpu() && input.dim() == 4 && input.size(1) < kWidestChannelBlock &&
         input.suggest_memory_format() == torch::MemoryFormat::ChannelsLast;
}

NetModelImpl::NetModelImpl(const Network& net) : net_(net) {
  for (const Block& b : net.blocks) {
    std::shared_ptr<nn::Module> m;
    switch (b.kind) {
      case BlockKind::stem_3x3: m = conv(b.in_channels, b.out_channels, 3, 1).ptr(); break;
      case BlockKind::preact_basic:
      case BlockKind::preact_bottleneck: m = PreActBlock(b).ptr(); break;
      case BlockKind::head_preact: m = Head(b).ptr(); break;
      case BlockKind::hidden: m = Hidden(b).ptr(); break;
      case BlockKind::output: m = nn::Linear(b.in_channels, b.out_channels).ptr(); break;
      default:
        throw std::invalid_argument(fmt::format(
            "the executor builds pre-activation ResNets (preact_*) and mlp; block {} of {} is {}", b.id,
            net.spec.arch, to_string(b.kind)));
    }
    blocks_.push_back(register_module(module_name(b.id), m));
  }
}

torch::Tensor NetModelImpl::forward(torch::Tensor x, const std::vector<char>& active,
                                       double partitioned_scale) {
  for (std::size_t i = 0; i < blocks_.size(); ++i)
    if (active[i]) x = forward_block(i, x, partitioned_scale);  // only shape-preserving blocks are ever off
  return x;
}

torch::Tensor NetModelImpl::forward_block(std::size_t i, torch::Tensor x, double partitioned_scale) {
  const Block& b = net_.blocks.at(i);
  if (b.kind == BlockKind::stem_3x3) return std::dynamic_pointer_cast<nn::Conv2dImpl>(blocks_[i])->forward(x);
  if (b.kind == BlockKind::head_preact) return std::dynamic_pointer_cast<HeadImpl>(blocks_[i])->forward(x);
  if (b.kind == BlockKind::hidden) return std::dynamic_pointer_cast<HiddenImpl>(blocks_[i])->forward(x);
  if (b.kind == BlockKind::output) return std::dynamic_pointer_cast<nn::LinearImpl>(blocks_[i])->forward(x);
  return std::dynamic_pointer_cast<PreActBlockImpl>(blocks_[i])->forward(x, b.partitionable ? partitioned_scale : 1.0);
}

void NetModelImpl::to_channels_last() {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
}

std::vector<torch::Tensor> NetModelImpl::state(std::size_t block) {
  std::vector<torch::Tensor> out = blocks_[block]->parameters();
  for (const torch::Tensor& b : blocks_[block]->buffers())
    if (b.is_floating_point()) out.push_back(b);
  return out;
}

std::vector<std::string> NetModelImpl::state_names(std::size_t block, bool all_buffers) {
  const std::string prefix = module_name(net_.blocks[block].id) + ".";
  std::vector<std::string> out;
  for (const auto& p : blocks_[block]->named_parameters()) out.push_back(prefix + p.key());
  for (const auto& b : blocks_[block]->named_buffers())
    if (all_buffers || b.value().is_floating_point()) out.push_back(prefix + b.key());
  return out;
}

std::vector<std::string> NetModelImpl::pytorch_names(std::size_t block) {
  const Block& b = net_.blocks[block];
  std::vector<std::string> out;
  const std::size_t own = module_name(b.id).size() + 1;  // "layer1_0." in front of the module's names
  for (const std::string& name : state_names(block, true)) {
    const std::string key = name.substr(own);
    if (b.kind == BlockKind::head_preact) {
      out.push_back(key);  // the head's bn and fc are the model's own
    } else if (b.kind == BlockKind::hidden) {  // fc<k>: its linear is fc<k>, its BatchNorm bn<k>
      const bool bn = key.rfind("bn.", 0) == 0;
      out.push_back((bn ? "bn" + b.id.substr(2) : b.id) + key.substr(key.find('.')));
    } else {
      out.push_back(b.id + "." + key);
    }
  }
  return out;
}

std::vector<torch::Tensor> NetModelImpl::parameters_of(std::size_t block) {
  return blocks_[block]->parameters();
}

namespace {

/// The neurons as an index tensor on the device of the tensors it indexes.
torch::Tensor indices(const std::vector<std::uint32_t>& neurons, torch::Device device) {
  std::vector<std::int64_t> v(neurons.begin(), neurons.end());
  return torch::tensor(v, torch::kLong).to(device);
}

}  // namespace

std::vector<torch::Tensor> NetModelImpl::neuron_slice(const std::vector<std::vector<std::uint32_t>>& neurons) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  torch::Tensor previous;  // kept inputs of the layer (undefined: all of them)
  for (std::size_t l = 0; l < neurons.size(); ++l) {
    const std::vector<torch::Tensor> s = state(l);  // fc.weight, fc.bias, bn.weight, bn.bias, running mean, var
    const torch::Tensor keep = indices(neurons[l], s[0].device());
    torch::Tensor w = s[0].index_select(0, keep);
    out.push_back(previous.defined() ? w.index_select(1, previous) : w);
    for (std::size_t i = 1; i < s.size(); ++i) out.push_back(s[i].index_select(0, keep));
    previous = keep;
  }
  const std::vector<torch::Tensor> o = state(neurons.size());  // output weight, bias
  out.push_back(o[0].index_select(1, previous));
  out.push_back(o[1].clone());
  return out;
}

void NetModelImpl::write_neuron_slice(const std::vector<std::vector<std::uint32_t>>& neurons,
                                   const std::vector<torch::Tensor>& slice) {
  torch::NoGradGuard no_grad;
  std::size_t at = 0;
  torch::Tensor previous;
  for (std::size_t l = 0; l < neurons.size(); ++l) {
    const std::vector<torch::Tensor> s = state(l);
    const torch::Tensor keep = indices(neurons[l], s[0].device());
    if (previous.defined()) {
      // weight[keep][:, previous] = slice: take the kept rows, overwrite their kept columns, put them back.
      torch::Tensor rows = s[0].index_select(0, keep);
      rows.index_copy_(1, previous, slice[at++]);
      s[0].index_copy_(0, keep, rows);
    } else {
      s[0].index_copy_(0, keep, slice[at++]);
    }
    for (std::size_t i = 1; i < s.size(); ++i) s[i].index_copy_(0, keep, slice[at++]);
    previous = keep;
  }
  const std::vector<torch::Tensor> o = state(neurons.size());
  o[0].index_copy_(1, previous, slice[at++]);
  o[1].copy_(slice[at++]);
}

std::vector<torch::Tensor> slice_parameters(const std::vector<torch::Tensor>& slice) {
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < slice.size(); ++i) {
    const bool running_stat = i + 2 < slice.size() && i % 6 >= 4;  // hidden layers: 6 tensors each
    if (!running_stat) out.push_back(slice[i]);
  }
  return out;
}

torch::Tensor slice_forward(const std::vector<torch::Tensor>& slice, torch::Tensor x, bool training) {
  x = x.flatten(1);
  const std::size_t layers = (slice.size() - 2) / 6;
  for (std::size_t l = 0; l < layers; ++l) {
    const torch::Tensor* s = &slice[6 * l];
    x = torch::nn::functional::linear(x, s[0], s[1]);
    x = torch::batch_norm(x, s[2], s[3], s[4], s[5], training, 0.1, 1e-5, false);
    x = torch::relu(x);
  }
  return torch::nn::functional::linear(x, slice[slice.size() - 2], slice.back());
}

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& t : tensors) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat);
}

void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const torch::Tensor& t : tensors) {
    const std::int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view_as(t));
    offset += n;
  }
}

Batch on(torch::Device device, const Batch& b) {
  if (device.is_cpu()) return b;
  return {b.images.to(device), b.labels.to(device), b.indices.defined() ? b.indices.to(device) : torch::Tensor()};
}

Batch synthetic_batch(const ModelSpec& spec, int batch, std::uint64_t seed, int worker,
                               std::uint64_t step) {
  torch::NoGradGuard no_grad;
  const auto [c, h, w] = spec.input;
  auto patterns_gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor patterns = at::randn({spec.classes, c, h, w}, patterns_gen);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003 + static_cast<std::uint64_t>(worker) * 7919 + step + 1);
  torch::Tensor labels = at::randint(spec.classes, {batch}, gen, torch::kLong);
  torch::Tensor images = patterns.index_select(0, labels) + 0.8 * at::randn({batch, c, h, w}, gen);
  return {images, labels, torch::Tensor()};
}

}  // namespace resist::exec
