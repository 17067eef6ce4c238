// LibTorch modules built from the catalogue: the same parameters per block, sub-ResNets, flattening.
#include "exec/network_module.hpp"
#include "model/catalogue.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include <doctest/doctest.h>

using namespace resist;

namespace {

Network small(const std::string& arch) {
  ModelSpec spec;
  spec.arch = arch;
  spec.width = 0.25;
  spec.depths = {1, 1, 3, 1};
  spec.input = {3, 16, 16};
  return build_network(spec);
}

}  // namespace

TEST_CASE("every block has the catalogue's parameters and buffers") {
  for (const char* arch : {"preact_resnet18", "preact_bottleneck_resnet50"}) {
    CAPTURE(arch);
    const Network net = small(arch);
    exec::ResNetModel model(net);
    for (std::size_t b = 0; b < net.blocks.size(); ++b) {
      CAPTURE(net.blocks[b].id);
      std::int64_t params = 0, state = 0;
      for (const auto& p : model->parameters_of(b)) params += p.numel();
      for (const auto& t : model->state(b)) state += t.numel();
      CHECK(params == net.blocks[b].params);
      CHECK(state == net.blocks[b].params + net.blocks[b].buffers);
    }
  }
}

TEST_CASE("a sub-ResNet skips its missing blocks; the scale touches only partitioned branches") {
  const Network net = small("preact_resnet18");
  exec::ResNetModel model(net);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 3, 16, 16});
  std::vector<char> all(net.blocks.size(), 1), sub = all;
  for (std::size_t b : net.partitionable_blocks()) sub[b] = 0;
  CHECK(model->forward(x, all, 1.0).sizes() == std::vector<std::int64_t>{2, 10});
  CHECK(model->forward(x, sub, 1.0).sizes() == std::vector<std::int64_t>{2, 10});
  CHECK_FALSE(torch::allclose(model->forward(x, all, 1.0), model->forward(x, sub, 1.0)));
  CHECK(torch::allclose(model->forward(x, sub, 0.5), model->forward(x, sub, 1.0)));
  CHECK_FALSE(torch::allclose(model->forward(x, all, 0.5), model->forward(x, all, 1.0)));
}

TEST_CASE("flatten and unflatten are exact inverses") {
  const Network net = small("preact_resnet18");
  exec::ResNetModel model(net);
  const auto tensors = model->state(2);
  const torch::Tensor flat = exec::flatten(tensors);
  std::vector<torch::Tensor> copies;
  for (const auto& t : tensors) copies.push_back(torch::zeros_like(t));
  exec::unflatten(flat, copies);
  for (std::size_t i = 0; i < tensors.size(); ++i) CHECK(torch::equal(copies[i], tensors[i]));
}

TEST_CASE("unsupported architectures are refused") {
  ModelSpec spec;
  spec.arch = "resnet18";
  CHECK_THROWS_WITH(exec::ResNetModel(build_network(spec)),
                    "the executor builds pre-activation ResNets (preact_*); block conv1 of resnet18 is stem_7x7");
}
