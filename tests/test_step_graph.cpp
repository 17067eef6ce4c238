// The training step captured as a CUDA graph (exec/step_graph.hpp) and the backend's use of it:
// replays train as eager steps do, a captured step is reused while what it holds is unchanged and
// captured anew when it is not. Needs a GPU and a build with CUDA graphs: skipped (exit 77) elsewhere.
#include <cstdio>

#include <torch/cuda.h>

#include "exec/data_feed.hpp"
#include "exec/network_module.hpp"
#include "exec/step_graph.hpp"
#include "exec/torch_backend.hpp"
#include "model/catalogue.hpp"
#include "plan/generator.hpp"
#include "plan/interpreter.hpp"
#include "tests/communicator_helpers.hpp"
#include "tests/helpers.hpp"

// Last: c10's logging brings glog's CHECK macro, which doctest's must replace.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

using namespace resist;

namespace {

const torch::Device kGpu(torch::kCUDA, 0);

Scenario small_scenario(const std::vector<std::string>& more = {}) {
  std::vector<std::string> sets{"model.arch=preact_resnet18", "model.width=0.125", "model.depths=[1,1,1,1]",
                                "model.input=[3,16,16]", "model.classes=4", "data.dataset=synthetic",
                                "training.batch_size=16", "training.epochs=null", "training.rounds=3",
                                "strategy.name=local_sgd", "strategy.workers=1", "strategy.local_iterations=8"};
  sets.insert(sets.end(), more.begin(), more.end());
  return default_scenario(sets);
}

/// Two copies of one model on the GPU.
std::pair<exec::NetModel, exec::NetModel> twins(const Network& net) {
  torch::manual_seed(4);
  exec::NetModel a(net), b(net);
  {
    torch::NoGradGuard no_grad;
    const auto pa = a->parameters(), pb = b->parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
  }
  a->to(kGpu);
  b->to(kGpu);
  return {a, b};
}

bool close(const std::vector<torch::Tensor>& x, const std::vector<torch::Tensor>& y) {
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!torch::allclose(x[i], y[i], 1e-4, 1e-5)) return false;
  return x.size() == y.size();
}

}  // namespace

TEST_CASE("replays of a captured step train as the same steps run eagerly, BatchNorm statistics included") {
  const Scenario s = small_scenario();
  const Network net = build_network(s.model);
  std::pair<exec::NetModel, exec::NetModel> models = twins(net);
  exec::NetModel& eager = models.first;
  exec::NetModel& graphed = models.second;
  const std::vector<char> all(net.blocks.size(), 1);
  // The model by holder (a shared pointer), the optimizer by pointer: the iteration outlives this call.
  const auto trainer = [&all](exec::NetModel model, torch::optim::SGD* sgd) {
    return [model, sgd, &all](const exec::Batch& b) mutable {
      for (const torch::Tensor& p : model->parameters()) p.mutable_grad() = torch::Tensor();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(b.images, all, 1.0), b.labels);
      loss.backward();
      exec::multi_tensor_sgd_step(*sgd);
      return loss.detach();
    };
  };
  torch::optim::SGD sgd_a(eager->parameters(), exec::sgd_options(s, 0.05));
  torch::optim::SGD sgd_b(graphed->parameters(), exec::sgd_options(s, 0.05));
  eager->train();
  graphed->train();
  std::uint64_t step = 0;
  const auto next = [&] { return exec::on(kGpu, exec::synthetic_batch(net.spec, 16, 1, 0, step++)); };
  torch::Tensor eager_loss = torch::zeros({}, torch::TensorOptions().device(kGpu));
  const exec::StepGraph::Iteration run_a = trainer(eager, &sgd_a);
  for (int i = 0; i < 10; ++i) eager_loss.add_(run_a(next()));
  step = 0;  // the same batches
  torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(kGpu));
  std::uint32_t trained = 0;
  auto graph = exec::StepGraph::capture(trainer(graphed, &sgd_b), next, 3, loss, trained);
  CHECK(trained == 4);  // 3 eager, then the capture's own batch replayed
  while (trained < 10) {
    graph->run(next());
    ++trained;
  }
  loss.add_(graph->loss_sum());
  CHECK(loss.item<double>() == doctest::Approx(eager_loss.item<double>()).epsilon(1e-4));
  CHECK(close(eager->parameters(), graphed->parameters()));
  CHECK(close(eager->buffers(), graphed->buffers()));  // running statistics, batch counts
  // reset_loss: the sum starts again; a batch of another size is refused, not replayed.
  graph->reset_loss();
  CHECK(graph->loss_sum().item<double>() == 0.0);
  CHECK_THROWS_WITH_AS(graph->run(exec::on(kGpu, exec::synthetic_batch(net.spec, 8, 1, 0, 0))),
                       doctest::Contains("a captured training step takes images [16, 3, 16, 16]"), std::invalid_argument);
}

TEST_CASE("the backend captures once while blocks, rate and momentum buffers stay, and anew when one changes") {
  const auto train = [](const Scenario& s, bool replace_momentum) {
    const Plan plan = make_plan(s);
    torch::manual_seed(9);
    exec::NetModel model(plan.network);
    model->to(kGpu);
    std::uint64_t captures = 0;
    std::vector<torch::Tensor> params;
    const std::string failure = test::on_one_gloo_rank([&](exec::Communicator& comm) {
      exec::DataFeed feed(s, 0, 1, kGpu);
      exec::TorchBackend backend(s, plan, model, comm, feed, 0, [] { return 0.0; });
      Interpreter interpreter(plan, 0, backend);
      interpreter.run_round(plan.rounds[0]);
      interpreter.run_round(plan.rounds[1]);
      if (replace_momentum) {
        const torch::Tensor m = backend.momentum().front();
        backend.set_momentum(0, m);  // as resuming from a checkpoint does: another tensor
      }
      interpreter.run_round(plan.rounds[2]);
      captures = backend.captures();
    });
    REQUIRE(failure == "");
    for (const torch::Tensor& p : model->parameters()) params.push_back(p.detach().cpu());
    return std::pair{captures, params};
  };
  const auto [kept, graphed] = train(small_scenario(), false);
  CHECK(kept == 1);
  const auto [renewed, renewed_params] = train(small_scenario(), true);
  CHECK(renewed == 2);
  const auto [none, eager] = train(small_scenario({"training.cuda_graphs=false"}), false);
  CHECK(none == 0);
  CHECK(close(graphed, eager));
  CHECK(close(renewed_params, eager));  // the same values in another tensor: the same training
  // fp16's loss scale reads the GPU every step: never captured.
  CHECK(train(small_scenario({"training.dtype=fp16"}), false).first == 0);
}

int main(int argc, char** argv) {
  if (const auto why = exec::cuda_graphs_unavailable()) {
    std::printf("skipped: %s\n", why->c_str());
    return 77;
  }
  if (!torch::cuda::is_available()) {
    std::printf("skipped: no GPU\n");
    return 77;
  }
  at::globalContext().setBenchmarkCuDNN(false);  // the same algorithms in both runs of a comparison
  at::globalContext().setDeterministicCuDNN(true);
  doctest::Context context(argc, argv);
  return context.run();
}
