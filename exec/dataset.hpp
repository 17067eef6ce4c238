// Image classification data sets in their distribution formats. No LibTorch here: the launcher
// checks data before starting workers, and the tests need no torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "input/scenario.hpp"

namespace resist::exec {

/// Shape of a data set's samples, and how many there are.
struct DatasetInfo {
  int channels = 0;
  int height = 0;
  int width = 0;
  int classes = 0;
  std::size_t size = 0;
};

/// Images as bytes (sample-major, then channel, row, column) and their labels.
struct Dataset {
  DatasetInfo info;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;
};

/// Reads an IDX image file and its IDX label file (gzipped or not, as Debian's
/// dataset-fashion-mnist ships them). Throws InputError naming the file and what is wrong.
Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels, int classes);

/// Reads CIFAR binary batches: records of a label byte (CIFAR-100: coarse and fine, the fine one
/// is used) and 3x32x32 pixel bytes.
Dataset load_cifar(const std::vector<std::filesystem::path>& files, bool cifar100);

/// The files of a scenario's data set and split: fashion_mnist from data.path or Debian's
/// /usr/share/datasets/fashion-mnist; cifar10/cifar100 from data.path (the folder holding
/// data_batch_*.bin and test_batch.bin, or train.bin and test.bin).
Dataset load_dataset(const Scenario& scenario, bool train);

/// Reads only the headers (for checks before training). Synthetic data takes the model's shape.
DatasetInfo probe_dataset(const Scenario& scenario, bool train);

/// Throws InputError at /model/input or /model/classes when the model does not fit the data, or
/// at /data/train_samples when the scenario asks for more samples than the training set has.
void check_model_fits(const Scenario& scenario, const DatasetInfo& data);

/// How many of the training set's samples a run trains on: data.train_samples where the scenario
/// gives it (the set's first ones; InputError when the set has fewer), else all `available`.
std::size_t training_samples(const Scenario& scenario, std::size_t available);

}  // namespace resist::exec
