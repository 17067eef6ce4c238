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
/// Pixels scale to [-1, 1]. The shard lives on `device` whole, as bytes (Fashion-MNIST: 24 MB per
/// worker of one; CIFAR: 75 MB), so a batch is gathered, converted and augmented there: no host
/// copy per iteration, no per-sample loop.
class DataFeed {
 public:
  /// Loads the training split (InputError when it cannot; std::invalid_argument when this worker's
  /// shard is empty).
  DataFeed(const Scenario& s, int rank, int world, torch::Device device = torch::kCPU);

  /// The next `batch` samples (their positions in the shard in Batch::indices).
  Batch next(int batch);
  /// The samples in this worker's shard (0 for synthetic data).
  std::int64_t shard_size() const { return pixels_.defined() ? pixels_.size(0) : 0; }

  FeedPosition position() const;
  void restore(const FeedPosition& p);

  /// The samples at `indices` of a data set, on the CPU, still as bytes: images uint8 [n, c, h, w],
  /// labels int64 (std::out_of_range for an index outside it).
  static Batch gather(const Dataset& d, const std::vector<std::int64_t>& indices);

  /// Random 4-pixel-padded crops (padding at -1, black) and horizontal flips: sample k is cropped
  /// at row offsets[k][0], column offsets[k][1] of the padded image and flipped when
  /// offsets[k][2] is odd. Works on any device.
  static torch::Tensor crop_and_flip(const torch::Tensor& images, const torch::Tensor& offsets);

 private:
  void reshuffle();
  Batch augment(Batch b);

  const Scenario& s_;
  int rank_;
  torch::Device device_;
  torch::Tensor pixels_, labels_;  // the shard, on device_: uint8 [n, c, h, w], int64 [n]
  std::vector<std::int64_t> order_;  // this epoch's order of the shard's samples (0..n-1)
  std::size_t cursor_ = 0;
  std::uint64_t step_ = 0, epoch_ = 0;
};

/// The held-out batches a global model is evaluated on: up to 2,000 samples of the test split in
/// batches of 250 (synthetic data: one batch of 512 fresh samples).
std::vector<Batch> evaluation_batches(const Scenario& s, const Network& network, std::uint64_t seed);

}  // namespace resist::exec
