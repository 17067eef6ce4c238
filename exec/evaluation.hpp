// Accuracy of a global model on held-out data.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/data_feed.hpp"
#include "exec/network_module.hpp"

namespace resist::exec {

class Evaluator {
 public:
  Evaluator(const Scenario& s, const Network& network, std::uint64_t seed) : s_(s), network_(network), seed_(seed) {}

  /// Accuracy of `model` with every block active, the partitionable blocks' residual branches
  /// scaled by `partitioned_scale`, on the held-out batches (data_feed.hpp's evaluation_batches,
  /// loaded at the first call).
  double accuracy(NetModel& model, double partitioned_scale);

 private:
  const Scenario& s_;
  const Network& network_;
  std::uint64_t seed_;
  std::vector<Batch> batches_;
};

}  // namespace resist::exec
