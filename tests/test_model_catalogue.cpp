// The model catalogue: exact parameter counts, block structure and costs, and bad model specs.
#include <doctest/doctest.h>

#include "model/catalogue.hpp"

using namespace resist;

namespace {

Network imagenet(const std::string& arch) {
  ModelSpec spec;
  spec.arch = arch;
  spec.classes = 1000;
  spec.input = {3, 224, 224};
  return build_network(spec);
}

Network cifar(const std::string& arch, double width = 1.0, std::vector<int> depths = {}) {
  ModelSpec spec;
  spec.arch = arch;
  spec.classes = 10;
  spec.width = width;
  spec.depths = std::move(depths);
  return build_network(spec);
}

std::string model_error(const ModelSpec& spec) {
  try {
    build_network(spec);
  } catch (const ModelError& e) {
    return e.field() + ": " + e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ImageNet ResNets have torchvision's exact parameter counts") {
  CHECK(imagenet("resnet18").total_params() == 11'689'512);
  CHECK(imagenet("resnet34").total_params() == 21'797'672);
  CHECK(imagenet("resnet50").total_params() == 25'557'032);
  CHECK(imagenet("resnet101").total_params() == 44'549'160);
  CHECK(imagenet("resnet152").total_params() == 60'192'808);
}

TEST_CASE("ResNet-50 forward FLOPs match the published 4.1 GMAC within 1.5%") {
  // Convolutions and the classifier are 4.09e9 multiply-adds; BatchNorm, ReLU and pooling add ~1%.
  const double flops = imagenet("resnet50").total_forward_flops();
  CHECK(flops > 2 * 4.09e9);
  CHECK(flops < 2 * 4.09e9 * 1.015);
}

TEST_CASE("pre-activation ResNet-101 as ResIST builds it") {
  const Network net = cifar("preact_resnet101");
  REQUIRE(net.blocks.size() == 1 + 3 + 4 + 23 + 3 + 1);
  CHECK(net.blocks.front().id == "conv1");
  CHECK(net.blocks.front().kind == BlockKind::stem_3x3);
  CHECK(net.blocks[1].id == "layer1.0");
  CHECK(net.blocks.back().id == "fc");
  CHECK(net.blocks.back().kind == BlockKind::head_preact);
  CHECK(to_string(net.blocks[1].kind) == "preact_basic");
  CHECK(to_string(BlockKind::stem_7x7) == "stem_7x7");
  SUBCASE("only the non-strided third-stage blocks are partitionable") {
    const auto part = net.partitionable_blocks();
    REQUIRE(part.size() == 22);
    CHECK(net.blocks[part.front()].id == "layer3.1");
    CHECK(net.blocks[part.back()].id == "layer3.22");
    const Block& first = net.blocks[*net.find("layer3.0")];
    CHECK(first.stride == 2);
    CHECK_FALSE(first.partitionable);
  }
  SUBCASE("stages shrink the feature map 32, 16, 8, 4") {
    CHECK(net.blocks[*net.find("layer1.2")].out_size == Size2{32, 32});
    CHECK(net.blocks[*net.find("layer2.0")].out_size == Size2{16, 16});
    CHECK(net.blocks[*net.find("layer3.5")].out_size == Size2{8, 8});
    CHECK(net.blocks[*net.find("layer4.2")].out_size == Size2{4, 4});
  }
}

TEST_CASE("one pre-activation basic block's costs, worked by hand") {
  const Network net = cifar("preact_resnet18");
  const Block& b = net.blocks[*net.find("layer1.0")];
  // Two 3x3 convolutions 64->64 and two BatchNorms of 64 channels on a 32x32 map.
  CHECK(b.params == 2 * 64 * 64 * 9 + 2 * 2 * 64);
  CHECK(b.buffers == 2 * 2 * 64);
  CHECK_FALSE(b.projection);
  const double map = 64.0 * 32 * 32;
  const double expected = 2 * (2.0 * 64 * 64 * 9 * 32 * 32)  // convolutions
                          + 2 * 2 * map                      // BatchNorms
                          + 2 * map                          // ReLUs
                          + map;                             // residual addition
  CHECK(b.forward_flops == doctest::Approx(expected).epsilon(1e-12));
  CHECK(b.train_flops() == doctest::Approx(3 * expected));
  CHECK(b.state_bytes(Dtype::fp32) == static_cast<std::uint64_t>(b.params + b.buffers) * 4);
  CHECK(b.state_bytes(Dtype::bf16) == static_cast<std::uint64_t>(b.params + b.buffers) * 2);
  CHECK(b.grad_bytes(Dtype::fp16) == static_cast<std::uint64_t>(b.params) * 2);
  SUBCASE("a strided block has a 1x1 projection shortcut") {
    const Block& s = net.blocks[*net.find("layer2.0")];
    CHECK(s.projection);
    CHECK(s.params == 64 * 128 * 9 + 128 * 128 * 9 + 64 * 128 + 2 * 64 + 2 * 128);
  }
}

TEST_CASE("width multiplier and depth choice make small variants") {
  const Network net = cifar("preact_resnet18", 0.25, {1, 1, 3, 1});
  CHECK(net.blocks.size() == 1 + 6 + 1);
  CHECK(net.blocks.front().out_channels == 16);
  CHECK(net.blocks[*net.find("layer4.0")].out_channels == 128);
  CHECK(net.partitionable_blocks().size() == 2);
}

TEST_CASE("bottleneck variants expand channels fourfold") {
  const Network net = cifar("preact_bottleneck_resnet50");
  CHECK(net.blocks[*net.find("layer1.0")].kind == BlockKind::preact_bottleneck);
  CHECK(net.blocks[*net.find("layer4.2")].out_channels == 2048);
  CHECK(net.partitionable_blocks().size() == 5);
}

TEST_CASE("IST's fully connected net") {
  ModelSpec spec;
  spec.arch = "mlp";
  spec.input = {1, 28, 28};
  spec.hidden = {100, 50};
  const Network net = build_network(spec);
  REQUIRE(net.blocks.size() == 3);
  CHECK(net.is_mlp());
  CHECK(net.blocks[0].id == "fc1");
  CHECK(net.blocks[0].params == 784 * 100 + 100 + 2 * 100);
  CHECK(net.blocks[0].buffers == 2 * 100);
  CHECK(net.blocks[1].params == 100 * 50 + 50 + 2 * 50);
  CHECK(net.blocks[2].id == "out");
  CHECK(net.blocks[2].params == 50 * 10 + 10);
  CHECK(net.hidden_layers() == std::vector<std::size_t>{0, 1});
  CHECK(net.partitionable_blocks().empty());
}

TEST_CASE("the catalogue lists every architecture the issue names") {
  for (const char* name : {"preact_resnet18", "preact_resnet34", "preact_resnet101",
                           "preact_resnet152", "preact_resnet200", "resnet18", "resnet34",
                           "resnet50", "resnet101", "resnet152", "mlp"})
    CHECK(find_architecture(name).name == name);
  CHECK(architectures().size() == 15);
}

TEST_CASE("bad model specs name the field at fault") {
  ModelSpec spec;
  spec.arch = "resnet99";
  CHECK(model_error(spec).rfind("arch: unknown architecture 'resnet99'; known: preact_resnet18,", 0) == 0);
  spec.arch = "preact_resnet18";
  spec.depths = {2, 2, 2};
  CHECK(model_error(spec) == "depths: expected 4 stage depths, found 3");
  spec.depths = {2, 0, 2, 2};
  CHECK(model_error(spec) == "depths: expected depths >= 1, found 0");
  spec.depths = {};
  spec.width = 0;
  CHECK(model_error(spec) == "width: expected a width multiplier in (0, 64], found 0");
  spec.width = 1;
  spec.classes = 0;
  CHECK(model_error(spec) == "classes: expected at least 1 class, found 0");
  spec.classes = 10;
  spec.hidden = {10};
  CHECK(model_error(spec) == "hidden: hidden widths apply to mlp only, not preact_resnet18");
  spec.arch = "mlp";
  spec.hidden = {};
  CHECK(model_error(spec) == "hidden: expected at least one hidden layer width for mlp");
  spec.hidden = {10, 0};
  CHECK(model_error(spec) == "hidden: expected hidden widths >= 1, found 0");
}
