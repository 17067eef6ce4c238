#include "exec/evaluation.hpp"

#include "exec/torch_backend.hpp"

namespace resist::exec {

double Evaluator::accuracy(NetModel& model, double partitioned_scale) {
  if (batches_.empty()) batches_ = evaluation_batches(s_, network_, seed_);
  torch::NoGradGuard no_grad;
  model->eval();
  const std::vector<char> all(network_.blocks.size(), 1);
  const torch::Device device = device_of(model);
  double right = 0, total = 0;
  for (const Batch& host : batches_) {
    const Batch b = on(device, host);
    right += model->forward(b.images, all, partitioned_scale).argmax(1).eq(b.labels).sum().item<double>();
    total += static_cast<double>(b.labels.size(0));
  }
  return right / total;
}

}  // namespace resist::exec
