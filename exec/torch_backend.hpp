// The plan interpreter's backend on LibTorch and a Communicator: compute ops train the worker's
// (sub-)network for real, communication ops move its blocks' tensors. It executes what each
// operation says (exec/../plan/plan.hpp) and knows no strategy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "exec/communicator.hpp"
#include "exec/data_feed.hpp"
#include "exec/network_module.hpp"
#include "plan/backend.hpp"

namespace resist::exec {

/// The device a model's parameters are on.
torch::Device device_of(NetModel& model);

/// A batch on `device`.
Batch on(torch::Device device, const Batch& b);

class TorchBackend final : public Backend {
 public:
  /// `clock` gives now(): seconds on the clock every worker of the job shares.
  TorchBackend(const Scenario& s, const Plan& plan, NetModel& model, Communicator& comm, DataFeed& feed,
               WorkerId self, std::function<double()> clock);

  Ticket compute(const OpCall& call) override;
  Ticket send(const OpCall& call, WorkerId peer) override;
  Ticket recv(const OpCall& call, WorkerId peer) override;
  Ticket collective(const OpCall& call) override;
  double wait(Ticket ticket) override { return finished_[ticket]; }
  double now() override { return clock_(); }

  /// Mean training loss of the last compute op.
  double round_loss() const { return round_loss_; }
  /// Samples trained on so far (by this backend object).
  std::uint64_t samples() const { return samples_; }

  /// Momentum buffer of each of the model's parameters (undefined before its first step).
  std::vector<torch::Tensor> momentum();
  void set_momentum(std::size_t index, const torch::Tensor& buffer);

 private:
  Ticket compute_slice(const OpCall& call);
  std::vector<torch::Tensor> state(const Op& op);
  void set_learning_rate(std::uint64_t round);
  void average_common(const OpCall& call, std::vector<torch::Tensor>& slice);
  Ticket done();

  const Scenario& s_;
  const Plan& plan_;
  NetModel& model_;
  Communicator& comm_;
  DataFeed& feed_;
  WorkerId self_;
  std::function<double()> clock_;
  torch::Device device_;
  torch::optim::SGD optimizer_;
  std::vector<double> finished_;
  std::uint64_t samples_ = 0;
  double round_loss_ = 0;
  torch::Tensor own_common_, common_sum_;  // the tensor every slice holds (averaged on gathers)
  std::optional<std::uint64_t> gathered_round_;
  int common_count_ = 0;
};

}  // namespace resist::exec
