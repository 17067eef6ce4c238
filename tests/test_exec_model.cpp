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
    exec::NetModel model(net);
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
  exec::NetModel model(net);
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
  exec::NetModel model(net);
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
  CHECK_THROWS_WITH(exec::NetModel(build_network(spec)),
                    "the executor builds pre-activation ResNets (preact_*) and mlp; block conv1 of resnet18 is stem_7x7");
}

namespace {

Network mlp() {
  ModelSpec spec;
  spec.arch = "mlp";
  spec.hidden = {12, 8};
  spec.input = {1, 4, 4};
  spec.classes = 5;
  return build_network(spec);
}

}  // namespace

TEST_CASE("IST's MLP: the catalogue's parameters, slices out and back in exactly") {
  const Network net = mlp();
  exec::NetModel model(net);
  for (std::size_t b = 0; b < net.blocks.size(); ++b) {
    std::int64_t state = 0;
    for (const auto& t : model->state(b)) state += t.numel();
    CHECK(state == net.blocks[b].params + net.blocks[b].buffers);
  }
  const std::vector<std::vector<std::uint32_t>> mine{{1, 4, 7}, {0, 5}};
  std::vector<torch::Tensor> slice = model->neuron_slice(mine);
  REQUIRE(slice.size() == 14);
  CHECK(slice[0].sizes() == torch::IntArrayRef{3, 16});  // kept rows, every input
  CHECK(slice[6].sizes() == torch::IntArrayRef{2, 3});   // kept rows of layer 2, kept columns of layer 1
  CHECK(slice[12].sizes() == torch::IntArrayRef{5, 2});  // output columns of the kept neurons
  CHECK(torch::equal(slice[6][1][2], model->state(1)[0][5][7]));
  // Write a changed slice back: its places change, everything else stays.
  const std::vector<torch::Tensor> before = model->state(1);
  std::vector<torch::Tensor> before_copy;
  for (const auto& t : before) before_copy.push_back(t.clone());
  for (auto& t : slice) t = t + 1;
  model->write_neuron_slice(mine, slice);
  const std::vector<torch::Tensor> again = model->neuron_slice(mine);
  for (std::size_t i = 0; i < slice.size(); ++i) CHECK(torch::equal(again[i], slice[i]));
  CHECK(torch::equal(model->state(1)[0][5][7], before_copy[0][5][7] + 1));
  CHECK(torch::equal(model->state(1)[0][5][6], before_copy[0][5][6]));  // column of a neuron not kept
  CHECK(torch::equal(model->state(1)[0][3], before_copy[0][3]));        // row of a neuron not kept
}

TEST_CASE("IST: the forward pass of the whole slice is the model's") {
  const Network net = mlp();
  exec::NetModel model(net);
  model->eval();
  std::vector<std::vector<std::uint32_t>> all(2);
  for (std::uint32_t i = 0; i < 12; ++i) all[0].push_back(i);
  for (std::uint32_t i = 0; i < 8; ++i) all[1].push_back(i);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({6, 1, 4, 4});
  const std::vector<char> active(net.blocks.size(), 1);
  CHECK(torch::allclose(exec::slice_forward(model->neuron_slice(all), x, false), model->forward(x, active, 1.0)));
}
