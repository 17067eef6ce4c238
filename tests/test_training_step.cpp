// The executor's training step: the multi-tensor SGD step, fp16's loss scale, autocast, the tensor
// layout, and the data feed's batches (gathered and augmented on the device).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>

#include "exec/checkpoint.hpp"
#include "exec/checkpoint_io.hpp"
#include "exec/data_feed.hpp"
#include "exec/dataset.hpp"
#include "exec/net.hpp"
#include "exec/worker.hpp"
#include "exec/network_module.hpp"
#include "exec/step_graph.hpp"
#include "exec/torch_backend.hpp"
#include "exec/torch_compat.hpp"
#include "input/input_error.hpp"
#include "model/catalogue.hpp"
#include "plan/generator.hpp"
#include "plan/interpreter.hpp"
#include "tests/communicator_helpers.hpp"
#include "tests/helpers.hpp"
#include "tests/worker_threads.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#include <doctest/doctest.h>

using namespace resist;
namespace fs = std::filesystem;

namespace {

Network small() {
  ModelSpec spec;
  spec.arch = "preact_resnet18";
  spec.width = 0.25;
  spec.depths = {1, 1, 2, 1};
  spec.input = {3, 16, 16};
  return build_network(spec);
}

bool identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

/// Trains two copies of one model on the same batches, one with optimizer.step(), one with
/// multi_tensor_sgd_step; some steps leave blocks without a gradient (as ResIST's sub-networks).
void compare_steps(const torch::optim::SGDOptions& options) {
  const Network net = small();
  torch::manual_seed(3);
  exec::NetModel a(net), b(net);
  {
    torch::NoGradGuard no_grad;
    const auto pa = a->parameters(), pb = b->parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
  }
  torch::optim::SGD oa(a->parameters(), options), ob(b->parameters(), options);
  for (int step = 0; step < 6; ++step) {
    std::vector<char> active(net.blocks.size(), 1);
    if (step % 2 == 1)  // a partitionable block sits this step out
      for (std::size_t i = 0; i < net.blocks.size(); ++i)
        if (net.blocks[i].partitionable) {
          active[i] = 0;
          break;
        }
    const exec::Batch batch = exec::synthetic_batch(net.spec, 8, 1, 0, static_cast<std::uint64_t>(step));
    for (auto* m : {&a, &b}) {
      for (torch::Tensor& p : (*m)->parameters()) p.mutable_grad() = torch::Tensor();
      torch::nn::functional::cross_entropy((*m)->forward(batch.images, active, 1.0), batch.labels).backward();
    }
    oa.step();
    exec::multi_tensor_sgd_step(ob);
    REQUIRE(identical(a->parameters(), b->parameters()));
  }
}

}  // namespace

TEST_CASE("the multi-tensor SGD step is bit for bit optimizer.step(), blocks without gradients left alone") {
  SUBCASE("momentum and weight decay (resist's)") { compare_steps(torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4)); }
  SUBCASE("plain SGD") { compare_steps(torch::optim::SGDOptions(0.1)); }
  SUBCASE("dampening") { compare_steps(torch::optim::SGDOptions(0.05).momentum(0.9).dampening(0.3)); }
  SUBCASE("Nesterov") { compare_steps(torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-4)); }
}

TEST_CASE("the multi-tensor step keeps momentum in the optimizer's state, where checkpoints read it") {
  torch::Tensor p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD opt({p}, torch::optim::SGDOptions(0.5).momentum(0.9));
  p.mutable_grad() = torch::full({3}, 2.0);
  exec::multi_tensor_sgd_step(opt);
  const auto& state = opt.state().at(exec::optimizer_state_key(opt, p));
  CHECK(torch::equal(static_cast<torch::optim::SGDParamState&>(*state).momentum_buffer(), torch::full({3}, 2.0)));
  CHECK(torch::allclose(p.detach(), torch::zeros({3})));
  p.mutable_grad() = torch::Tensor();  // no gradient: neither the parameter nor its buffer moves
  exec::multi_tensor_sgd_step(opt);
  CHECK(torch::allclose(p.detach(), torch::zeros({3})));
}

TEST_CASE("fp16's loss scale: a non-finite gradient skips the step and halves it; finite steps double it") {
  exec::LossScaler scaler(1024.0, 3);
  torch::Tensor p = torch::zeros({2}, torch::requires_grad());
  p.mutable_grad() = torch::tensor({2048.0, -512.0});
  CHECK(scaler.unscale({p}));
  CHECK(torch::equal(p.grad(), torch::tensor({2.0, -0.5})));  // divided back by the scale
  p.mutable_grad() = torch::tensor({std::numeric_limits<double>::infinity(), 1.0}).to(torch::kFloat);
  CHECK_FALSE(scaler.unscale({p}));
  p.mutable_grad() = torch::tensor({std::nan(""), 1.0}).to(torch::kFloat);
  CHECK_FALSE(scaler.unscale({p}));
  scaler.update(false);
  CHECK(scaler.scale() == 512.0);
  for (int i = 0; i < 2; ++i) scaler.update(true);
  CHECK(scaler.scale() == 512.0);
  scaler.update(true);  // the third finite step in a row
  CHECK(scaler.scale() == 1024.0);
  scaler.update(true);
  scaler.update(false);  // a skip restarts the count
  scaler.update(true);
  scaler.update(true);
  CHECK(scaler.scale() == 512.0);
}

TEST_CASE("autocast to bf16 on the CPU: convolutions run in bf16 inside the scope only, parameters stay fp32") {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 4, 3).bias(false));
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  {
    exec::AutocastScope scope(c10::DeviceType::CPU, torch::kBFloat16);
    CHECK((conv(x).scalar_type() == torch::kBFloat16));
  }
  CHECK((conv(x).scalar_type() == torch::kFloat));
  CHECK((conv->weight.scalar_type() == torch::kFloat));
  {
    exec::AutocastScope none(c10::DeviceType::CPU, std::nullopt);  // fp32: no autocast
    CHECK((conv(x).scalar_type() == torch::kFloat));
  }
}

TEST_CASE("autocast sees the weights the optimizer has just changed (its cast cache is dropped)") {
  torch::nn::Linear fc(4, 2);
  const torch::Tensor x = torch::ones({1, 4});
  torch::Tensor before, after;
  {
    exec::AutocastScope scope(c10::DeviceType::CPU, torch::kBFloat16);
    before = fc(x).detach();
  }
  {
    torch::NoGradGuard no_grad;
    fc->weight.add_(1.0);
  }
  {
    exec::AutocastScope scope(c10::DeviceType::CPU, torch::kBFloat16);
    after = fc(x).detach();
  }
  CHECK(torch::allclose(after.to(torch::kFloat), before.to(torch::kFloat) + 4.0, 0.05, 0.05));
}

TEST_CASE("training.dtype and training.memory_format decide autocast and layout") {
  Scenario s = default_scenario({"model.arch=preact_resnet18", "data.dataset=synthetic", "training.epochs=null",
                                 "training.rounds=1"});
  CHECK_FALSE(exec::autocast_type(s, torch::kCPU).has_value());
  CHECK(exec::use_channels_last(s, torch::kCPU));  // auto: the CPU
  CHECK_FALSE(exec::use_channels_last(s, torch::Device(torch::kCUDA, 0)));  // auto: fp32 on a GPU
  s = default_scenario({"training.dtype=bf16", "training.memory_format=contiguous"});
  CHECK((exec::autocast_type(s, torch::kCPU) == torch::kBFloat16));
  CHECK_FALSE(exec::use_channels_last(s, torch::kCPU));  // asked for: given
  s = default_scenario({"training.dtype=bf16"});
  CHECK(exec::use_channels_last(s, torch::Device(torch::kCUDA, 0)));  // auto: bf16 on a GPU
  CHECK(exec::use_channels_last(s, torch::kCPU));
  s = default_scenario({"training.memory_format=channels_last"});
  CHECK(exec::use_channels_last(s, torch::Device(torch::kCUDA, 0)));  // asked for: given
  CHECK((exec::scalar_type(Dtype::fp16) == torch::kHalf));
  s = default_scenario({"training.dtype=fp16"});
  CHECK((exec::autocast_type(s, torch::Device(torch::kCUDA, 0)) == torch::kHalf));
  try {
    exec::autocast_type(s, torch::kCPU);
    FAIL("fp16 on the CPU was accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("/training/dtype") != std::string::npos);
    CHECK(std::string(e.what()).find("bf16") != std::string::npos);
  }
  CHECK_THROWS_AS(default_scenario({"training.memory_format=nhwc"}), InputError);
}

TEST_CASE("a channels-last model computes what the contiguous one does, with the same tensors") {
  const Network net = small();
  torch::manual_seed(5);
  exec::NetModel model(net);
  const std::vector<char> all(net.blocks.size(), 1);
  const exec::Batch b = exec::synthetic_batch(net.spec, 4, 2, 0, 0);
  model->eval();
  const torch::Tensor before = model->forward(b.images, all, 1.0).detach();
  const auto impls = [&] {
    std::vector<void*> out;
    for (const torch::Tensor& p : model->parameters()) out.push_back(p.unsafeGetTensorImpl());
    return out;
  };
  const std::vector<void*> identity = impls();
  model->to_channels_last();
  CHECK(impls() == identity);  // the optimizer's and state()'s tensors are still the model's
  std::size_t nhwc = 0;
  for (const torch::Tensor& p : model->parameters())
    if (p.dim() == 4) nhwc += p.is_contiguous(torch::MemoryFormat::ChannelsLast) && !p.is_contiguous();
  CHECK(nhwc > 0);
  const torch::Tensor after =
      model->forward(b.images.contiguous(torch::MemoryFormat::ChannelsLast), all, 1.0).detach();
  CHECK(torch::allclose(after, before, 1e-4, 1e-5));
  // What travels is laid out the same whatever the layout: flatten is logical (NCHW) order.
  exec::NetModel plain(net);
  {
    torch::NoGradGuard no_grad;
    const auto p = plain->parameters(), q = model->parameters();
    for (std::size_t i = 0; i < p.size(); ++i) p[i].copy_(q[i]);
  }
  CHECK(torch::equal(exec::flatten(plain->state(1)), exec::flatten(model->state(1))));
}

TEST_CASE("a strided 1x1 shortcut of few channels trains channels-last on the CPU as it does contiguous") {
  // oneDNN 3.x corrupts the heap in this convolution's weight gradient (uxlfoundation/oneDNN#6035):
  // with Debian 13's LibTorch 2.6 this loop died of "double free or corruption" before the block
  // computed such shortcuts at stride 1 on the subsampled input.
  ModelSpec spec;
  spec.arch = "preact_resnet18";
  spec.width = 0.125;  // stage widths 8, 16, 32, 64: the first projection reads 8 channels
  spec.depths = {1, 1, 1, 1};
  spec.input = {1, 28, 28};
  const Network net = build_network(spec);
  torch::manual_seed(7);
  exec::NetModel plain(net), nhwc(net);
  {
    torch::NoGradGuard no_grad;
    const auto p = plain->parameters(), q = nhwc->parameters();
    for (std::size_t i = 0; i < p.size(); ++i) q[i].copy_(p[i]);
  }
  nhwc->to_channels_last();
  const Block& block = net.blocks.at(2);  // layer2_0: 8 channels in, 16 out, stride 2, projection
  REQUIRE(block.projection);
  REQUIRE(block.stride == 2);
  REQUIRE(block.in_channels == 8);
  const torch::Tensor x = torch::zeros({4, 8, 14, 14});
  const auto cl = torch::MemoryFormat::ChannelsLast;
  CHECK(exec::needs_unit_stride_shortcut(x.contiguous(cl), 2));
  CHECK_FALSE(exec::needs_unit_stride_shortcut(x, 2));
  CHECK_FALSE(exec::needs_unit_stride_shortcut(x.contiguous(cl), 1));
  CHECK_FALSE(exec::needs_unit_stride_shortcut(torch::zeros({4, 16, 14, 14}).contiguous(cl), 2));

  // The block alone: its output and the gradients of its input and parameters are the contiguous
  // block's, to float noise (the layouts sum in other orders). A whole network's gradients are not
  // compared: training-mode BatchNorm amplifies that noise layer by layer, in either layout.
  const auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>() <= 1e-5 * b.abs().max().item<double>() + 1e-7;
  };
  const torch::Tensor input = torch::randn({32, 8, 28, 28});
  const torch::Tensor in_plain = input.clone().requires_grad_(), in_nhwc = input.contiguous(cl).requires_grad_();
  const torch::Tensor out_plain = plain->forward_block(2, in_plain), out_nhwc = nhwc->forward_block(2, in_nhwc);
  CHECK(close(out_nhwc, out_plain));
  const torch::Tensor direction = torch::randn_like(out_plain);
  (out_plain * direction).sum().backward();
  (out_nhwc * direction).sum().backward();
  CHECK(close(in_nhwc.grad(), in_plain.grad()));
  const auto gp = plain->parameters_of(2), gn = nhwc->parameters_of(2);
  for (std::size_t i = 0; i < gp.size(); ++i) CHECK_MESSAGE(close(gn[i].grad(), gp[i].grad()), "parameter ", i);

  // Training steps of the whole channels-last network (they corrupted the heap): finite losses.
  const std::vector<char> all(net.blocks.size(), 1);
  torch::optim::SGD sgd(nhwc->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int step = 0; step < 40; ++step) {
    const torch::Tensor images = torch::rand({32, 1, 28, 28}), labels = torch::randint(10, {32});
    sgd.zero_grad();
    const torch::Tensor loss =
        torch::nn::functional::cross_entropy(nhwc->forward(images.contiguous(cl), all, 1.0), labels);
    loss.backward();
    sgd.step();
    REQUIRE(std::isfinite(loss.item<double>()));
  }
}

TEST_CASE("CUDA graphs: never on the CPU; a build without them refuses to capture and says why") {
  const Scenario s = default_scenario({"model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,1,1]",
                                       "model.input=[3,8,8]", "model.classes=4", "strategy.name=local_sgd",
                                       "strategy.workers=1", "strategy.local_iterations=6", "data.dataset=synthetic",
                                       "training.batch_size=8", "training.epochs=null", "training.rounds=1"});
  REQUIRE(s.training.cuda_graphs);  // the default
  const Plan plan = make_plan(s);
  exec::NetModel model(plan.network);
  std::uint64_t captures = 1;
  double loss = 0;
  const std::string failure = test::on_one_gloo_rank([&](exec::Communicator& comm) {
    exec::DataFeed feed(s, 0, 1);
    exec::TorchBackend backend(s, plan, model, comm, feed, 0, [] { return 0.0; });
    Interpreter(plan, 0, backend).run_round(plan.rounds[0]);
    captures = backend.captures();
    loss = backend.round_loss();
    CHECK(backend.samples() == 6 * 8);
  });
  REQUIRE(failure == "");
  CHECK(captures == 0);
  CHECK(std::isfinite(loss));
  CHECK(loss > 0);
  torch::Tensor sum = torch::zeros({});
  std::uint32_t trained = 0;
  const exec::StepGraph::Iteration iteration = [](const exec::Batch&) { return torch::zeros({}); };
  const auto cpu_batch = [&] { return exec::synthetic_batch(plan.network.spec, 8, 1, 0, 0); };
  if (const auto why = exec::cuda_graphs_unavailable()) {
    CHECK(why->find("built without CUDA graphs") != std::string::npos);
    CHECK_THROWS_WITH_AS(exec::StepGraph::capture(iteration, cpu_batch, 3, sum, trained), why->c_str(), std::runtime_error);
  } else {
    CHECK_THROWS_WITH_AS(exec::StepGraph::capture(iteration, cpu_batch, 3, sum, trained),
                         "a CUDA graph captures GPU work; the batch is on the cpu", std::runtime_error);
  }
  CHECK(trained == 0);
}

TEST_CASE("crops and flips, all samples at once, are the per-sample crops and flips") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const torch::Tensor images = at::randn({6, 3, 8, 8}, gen);
  const torch::Tensor offsets = at::randint(9, {6, 3}, gen, torch::kLong);
  const torch::Tensor got = exec::DataFeed::crop_and_flip(images, offsets);
  const torch::Tensor padded = torch::constant_pad_nd(images, {4, 4, 4, 4}, -1.0);
  for (std::int64_t k = 0; k < 6; ++k) {
    CAPTURE(k);
    const torch::Tensor crop = padded[k].narrow(1, offsets[k][0].item<std::int64_t>(), 8).narrow(2, offsets[k][1].item<std::int64_t>(), 8);
    CHECK(torch::equal(got[k], offsets[k][2].item<std::int64_t>() % 2 ? crop.flip({2}) : crop));
  }
  // Offsets 4, 4, even: the image itself; 0, 0: shifted by 4 with black (-1) borders.
  const torch::Tensor same = exec::DataFeed::crop_and_flip(images, torch::tensor({{4, 4, 0}}).expand({6, 3}).contiguous());
  CHECK(torch::equal(same, images));
  const torch::Tensor corner = exec::DataFeed::crop_and_flip(images, torch::tensor({{0, 0, 0}}).expand({6, 3}).contiguous());
  CHECK(torch::equal(corner.narrow(2, 0, 4), torch::full({6, 3, 4, 8}, -1.0)));
  CHECK(torch::equal(corner.narrow(2, 4, 4).narrow(3, 4, 4), images.narrow(2, 0, 4).narrow(3, 0, 4)));
}

TEST_CASE("gathering samples of a data set keeps bytes and labels, and refuses indices outside it") {
  exec::Dataset d;
  d.info = {1, 2, 2, 10, 3};
  d.pixels = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
  d.labels = {7, 8, 9};
  const exec::Batch b = exec::DataFeed::gather(d, {2, 0});
  CHECK((b.images.scalar_type() == torch::kUInt8));
  CHECK(torch::equal(b.images.flatten(), torch::tensor({20, 21, 22, 23, 0, 1, 2, 3}).to(torch::kUInt8)));
  CHECK(torch::equal(b.labels, torch::tensor({9, 7}).to(torch::kLong)));
  CHECK_THROWS_AS(exec::DataFeed::gather(d, {3}), std::out_of_range);
  CHECK_THROWS_AS(exec::DataFeed::gather(d, {-1}), std::out_of_range);
}

TEST_CASE("data.train_samples trains on the set's first samples, and a batch says which it holds") {
  if (!test::have_fashion_mnist()) return;
  const Scenario s = test::scenario({"data.dataset=fashion_mnist", "model.input=[1,28,28]", "model.classes=10",
                                     "data.train_samples=40"});
  exec::DataFeed feed(s, 0, 1);
  CHECK(feed.shard_size() == 40);
  const exec::Dataset all = exec::load_dataset(s, true);
  std::vector<std::int64_t> first_epoch;
  for (int i = 0; i < 5; ++i) {  // 80 samples: two epochs of 40
    const exec::Batch b = feed.next(16);
    REQUIRE(b.indices.defined());
    const std::vector<std::int64_t> idx(b.indices.data_ptr<std::int64_t>(), b.indices.data_ptr<std::int64_t>() + 16);
    for (const std::int64_t i : idx) CHECK(i < 40);
    CHECK(torch::equal(b.labels, exec::DataFeed::gather(all, idx).labels));  // the indices name the batch's samples
    for (const std::int64_t i : idx)
      if (first_epoch.size() < 40) first_epoch.push_back(i);
  }
  std::sort(first_epoch.begin(), first_epoch.end());
  for (std::int64_t i = 0; i < 40; ++i) CHECK(first_epoch[static_cast<std::size_t>(i)] == i);  // each sample once an epoch
  const Scenario synthetic = test::scenario({"data.dataset=synthetic", "data.train_samples=40"});
  exec::DataFeed made_up(synthetic, 0, 1);
  CHECK(made_up.shard_size() == 0);
  CHECK_FALSE(made_up.next(4).indices.defined());
}

TEST_CASE("bf16 on the CPU trains end to end, and parameters travel in bf16 (the plan's bytes)") {
  // Two workers as threads of this process, over Gloo on loopback; local SGD averages the whole
  // model over both every round, so after the last round both hold the same bf16-exact values.
  const Scenario s = default_scenario({"model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,1,1]",
                                       "model.input=[3,8,8]", "model.classes=4", "strategy.name=local_sgd",
                                       "strategy.workers=2", "strategy.local_iterations=5", "data.dataset=synthetic",
                                       "training.batch_size=16", "training.epochs=null", "training.rounds=4",
                                       "training.dtype=bf16"});
  const Plan plan = make_plan(s);
  const fs::path dir = test::scratch() / "bf16";
  fs::remove_all(dir);
  const auto [reports, errors] = test::run_worker_threads(s, plan, 2, dir.string());
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");
  for (const exec::WorkerReport& r : reports) {
    REQUIRE(r.loss.size() == 4);
    CHECK(std::isfinite(r.loss.back()));
    CHECK(r.loss.back() < r.loss.front());  // it learns
  }
  REQUIRE(reports[0].shared_checksum.back().has_value());
  CHECK(reports[0].shared_checksum.back() == reports[1].shared_checksum.back());
  std::size_t checked = 0;
  for (const auto& [name, tensor] : exec::read_worker_model(exec::worker_state_path(dir, 3, 1))) {
    if (!tensor.is_floating_point()) continue;
    CAPTURE(name);
    CHECK((tensor.scalar_type() == torch::kFloat));  // fp32 master weights
    CHECK(torch::equal(tensor, tensor.to(torch::kBFloat16).to(torch::kFloat)));  // arrived as bf16
    ++checked;
  }
  CHECK(checked > 10);
  fs::remove_all(dir);
}
