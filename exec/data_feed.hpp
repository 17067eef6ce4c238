// The batches one worker trains on, and the held-out samples the global model is evaluated on.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/dataset.hpp"
#include "exec/network_module.hpp"
#include "input/scenario.hpp"

namespace resist::exec {

/// Where a feed stands, to continue after a checkpoint exactly where it stopped.
struct FeedPosition {
  std::int64_t epoch = 0, cursor = 0, step = 0;
};

/// Batches for one worker: synthetic class patterns, or the worker's shard of a real data set
/// (every world-th sample from its rank), reshuffled each epoch; crops and flips for CIFAR.
/// Pixels scale to [-1, 1].
class DataFeed {
 public:
  /// Loads the training split (InputError when it cannot; std::invalid_argument when this worker's
  /// shard is empty).
  DataFeed(const Scenario& s, int rank, int world);

  Batch next(int batch);

  FeedPosition position() const;
  void restore(const FeedPosition& p);

  /// The samples at `indices` of a data set, as a batch.
  static Batch gather(const Dataset& d, const std::vector<std::int64_t>& indices);

 private:
  void reshuffle();
  Batch augment(Batch b);

  const Scenario& s_;
  int rank_;
  Dataset data_;
  std::vector<std::int64_t> shard_, order_;
  std::size_t cursor_ = 0;
  std::uint64_t step_ = 0, epoch_ = 0;
};

/// The held-out batches a global model is evaluated on: up to 2,000 samples of the test split in
/// batches of 250 (synthetic data: one batch of 512 fresh samples).
std::vector<Batch> evaluation_batches(const Scenario& s, const Network& network, std::uint64_t seed);

}  // namespace resist::exec
