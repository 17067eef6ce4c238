// What a worker does after each round it trains: records the loss and a checksum of the
// parameters every worker should hold identical, writes the checkpoint, evaluates the global
// model when asked, shows progress, and injects the test fault.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "exec/evaluation.hpp"
#include "exec/torch_backend.hpp"
#include "exec/worker_contract.hpp"

namespace resist::exec {

class RoundEnd final : public Observer {
 public:
  RoundEnd(const Scenario& s, const WorkerOptions& o, TorchBackend& backend, NetModel& model, DataFeed& feed,
           c10d::Store& store, Evaluator& evaluator);

  void on_op(const OpCall&, double, double) override {}
  void on_round(const Plan& plan, const Round& round, WorkerId self, double, double) override;

  std::vector<double> loss;                              ///< per round run
  std::vector<std::optional<double>> shared_checksum;    ///< per round run
  std::vector<std::pair<std::uint64_t, double>> evaluations;  ///< worker 0: (round, accuracy)
  double evaluation_seconds = 0;  ///< spent in those evaluations

 private:
  using State = std::map<std::string, at::Tensor>;
  std::optional<double> checksum(const Plan& plan, const Round& round);
  std::optional<State> checkpoint(const Plan& plan, const Round& round);
  void evaluate(const Plan& plan, const Round& round, const std::optional<State>& global);
  void show(const Plan& plan, const Round& round);

  const Scenario& s_;
  const WorkerOptions& o_;
  TorchBackend& backend_;
  NetModel& model_;
  DataFeed& feed_;
  c10d::Store& store_;
  Evaluator& evaluator_;
  double start_;
  std::uint64_t start_samples_;
  std::uint64_t shown_ = 0;
  std::optional<NetModel> eval_model_;
  std::optional<double> last_accuracy_;
  bool warned_ = false;
};

}  // namespace resist::exec
