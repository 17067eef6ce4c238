#include "exec/step_graph.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <torch/cuda.h>

#if RESIST_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace resist::exec {

#if RESIST_CUDA_GRAPHS

namespace {

/// Begins capture in thread-local mode where this LibTorch takes a mode (2.x), so that other
/// threads of the process (another worker of a test's job) may use the GPU meanwhile; LibTorch 1.x
/// captures in global mode. (A template: only the branch for the LibTorch at hand is compiled.)
template <class Graph>
void begin_capture(Graph& graph) {
  if constexpr (requires { graph.capture_begin(at::cuda::MempoolId_t{0, 0}, cudaStreamCaptureModeThreadLocal); })
    graph.capture_begin(at::cuda::MempoolId_t{0, 0}, cudaStreamCaptureModeThreadLocal);
  else
    graph.capture_begin();
}

}  // namespace

struct StepGraph::Impl {
  at::cuda::CUDAGraph graph;
  torch::Tensor images, labels, loss_sum;  // the graph's input and output, at fixed addresses
};

std::optional<std::string> cuda_graphs_unavailable() { return std::nullopt; }

std::unique_ptr<StepGraph> StepGraph::capture(const Iteration& iteration, const std::function<Batch()>& next,
                                              int warm_up, torch::Tensor& warm_up_loss, std::uint32_t& trained) {
  Batch batch = next();
  if (!batch.images.is_cuda())
    throw std::runtime_error("a CUDA graph captures GPU work; the batch is on the " + batch.images.device().str());
  const c10::DeviceIndex device = batch.images.device().index();
  std::unique_ptr<StepGraph> captured(new StepGraph);
  Impl& m = *captured->impl_;
  torch::cuda::synchronize(device);  // the side stream starts after what the current one queued
  {
    // Capture needs a stream other than the default one; the warm-up runs there too, so that what
    // LibTorch sets up per stream on first use (cuBLAS workspaces) exists before capture.
    const c10::cuda::CUDAStreamGuard side(c10::cuda::getStreamFromPool(false, device));
    for (int i = 0; i < warm_up; ++i) {
      warm_up_loss.add_(iteration(batch));
      ++trained;
      batch = next();
    }
    m.images = batch.images.clone();  // same layout
    m.labels = batch.labels.clone();
    m.loss_sum = torch::zeros({}, batch.images.options().dtype(torch::kFloat));
    begin_capture(m.graph);
    try {
      m.loss_sum.add_(iteration({m.images, m.labels, torch::Tensor()}));
    } catch (...) {
      try {
        m.graph.capture_end();  // leaves the stream out of capture mode
      } catch (...) {
      }
      throw;
    }
    m.graph.capture_end();
  }
  torch::cuda::synchronize(device);
  m.graph.replay();  // capture ran nothing: the batch it was captured on trains now
  ++trained;
  return captured;
}

void StepGraph::run(const Batch& batch) {
  Impl& m = *impl_;
  if (batch.images.sizes() != m.images.sizes() || batch.labels.sizes() != m.labels.sizes())
    throw std::invalid_argument(fmt::format("a captured training step takes images {} and labels {}; this batch has {} and {}",
                                            c10::str(m.images.sizes()), c10::str(m.labels.sizes()),
                                            c10::str(batch.images.sizes()), c10::str(batch.labels.sizes())));
  m.images.copy_(batch.images);
  m.labels.copy_(batch.labels);
  m.graph.replay();
}

torch::Tensor StepGraph::loss_sum() const { return impl_->loss_sum; }

void StepGraph::reset_loss() { impl_->loss_sum.zero_(); }

#else  // no CUDA graphs in this build

struct StepGraph::Impl {};

std::optional<std::string> cuda_graphs_unavailable() {
  return "this resist was built without CUDA graphs (a LibTorch without CUDA, or no CUDA runtime headers)";
}

std::unique_ptr<StepGraph> StepGraph::capture(const Iteration&, const std::function<Batch()>&, int, torch::Tensor&,
                                              std::uint32_t&) {
  throw std::runtime_error(*cuda_graphs_unavailable());
}

void StepGraph::run(const Batch&) { throw std::logic_error(*cuda_graphs_unavailable()); }
torch::Tensor StepGraph::loss_sum() const { throw std::logic_error(*cuda_graphs_unavailable()); }
void StepGraph::reset_loss() { throw std::logic_error(*cuda_graphs_unavailable()); }

#endif

StepGraph::StepGraph() : impl_(std::make_unique<Impl>()) {}
StepGraph::~StepGraph() = default;

}  // namespace resist::exec
