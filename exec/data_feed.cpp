#include "exec/data_feed.hpp"

#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

namespace resist::exec {

DataFeed::DataFeed(const Scenario& s, int rank, int world, torch::Device device)
    : s_(s), rank_(rank), device_(device) {
  if (s.dataset == "synthetic") return;
  const Dataset data = load_dataset(s, true);
  const std::size_t samples = training_samples(s, data.info.size);
  std::vector<std::int64_t> shard;
  for (std::size_t i = static_cast<std::size_t>(rank); i < samples; i += static_cast<std::size_t>(world))
    shard.push_back(static_cast<std::int64_t>(i));
  if (shard.empty()) throw std::invalid_argument(fmt::format("worker {} has no training samples", rank));
  const Batch b = gather(data, shard);  // still bytes: gather converts only what it returns
  pixels_ = b.images.to(device_);
  labels_ = b.labels.to(device_);
}

Batch DataFeed::next(int batch) {
  if (!pixels_.defined()) return on(device_, synthetic_batch(s_.model, batch, s_.strategy.seed, rank_, step_++));
  std::vector<std::int64_t> picked;
  picked.reserve(static_cast<std::size_t>(batch));
  while (static_cast<int>(picked.size()) < batch) {
    if (cursor_ == order_.size()) reshuffle();
    picked.push_back(order_[cursor_++]);
  }
  ++step_;
  const torch::Tensor index =
      torch::from_blob(picked.data(), {static_cast<std::int64_t>(picked.size())}, torch::kLong)
          .to(device_, /*non_blocking=*/false, /*copy=*/true);  // a copy: the batch keeps it, picked goes
  Batch b{pixels_.index_select(0, index).to(torch::kFloat).div_(127.5).sub_(1.0), labels_.index_select(0, index), index};
  return s_.dataset == "fashion_mnist" ? b : augment(b);
}

FeedPosition DataFeed::position() const {
  return {static_cast<std::int64_t>(epoch_), static_cast<std::int64_t>(cursor_), static_cast<std::int64_t>(step_)};
}

void DataFeed::restore(const FeedPosition& p) {
  step_ = static_cast<std::uint64_t>(p.step);
  epoch_ = static_cast<std::uint64_t>(p.epoch);
  if (pixels_.defined() && epoch_ > 0) {
    --epoch_;  // rebuild that epoch's order
    reshuffle();
  }
  cursor_ = static_cast<std::size_t>(p.cursor);
}

/// Pixels stay bytes here; next() converts the batch it picks.
Batch DataFeed::gather(const Dataset& d, const std::vector<std::int64_t>& indices) {
  const std::int64_t n = static_cast<std::int64_t>(d.info.size);
  for (const std::int64_t i : indices)
    if (i < 0 || i >= n) throw std::out_of_range(fmt::format("sample {} of a data set of {}", i, n));
  // Views of the data set's bytes (not written to); index_select copies what is picked.
  auto* pixels = const_cast<std::uint8_t*>(d.pixels.data());
  auto* labels = const_cast<std::uint8_t*>(d.labels.data());
  const torch::Tensor all = torch::from_blob(pixels, {n, d.info.channels, d.info.height, d.info.width}, torch::kUInt8);
  const torch::Tensor all_labels = torch::from_blob(labels, {n}, torch::kUInt8);
  const torch::Tensor index = torch::tensor(indices, torch::kLong);
  return {all.index_select(0, index), all_labels.index_select(0, index).to(torch::kLong), torch::Tensor()};
}

void DataFeed::reshuffle() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 7919 + static_cast<std::uint64_t>(rank_) * 104729 + epoch_++);
  const torch::Tensor perm = at::randperm(pixels_.size(0), gen);
  const std::int64_t* p = perm.data_ptr<std::int64_t>();
  order_.assign(p, p + perm.size(0));
  cursor_ = 0;
}

torch::Tensor DataFeed::crop_and_flip(const torch::Tensor& images, const torch::Tensor& offsets) {
  const std::int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const auto device = images.device();
  const torch::Tensor off = offsets.to(device);
  const torch::Tensor padded = torch::constant_pad_nd(images, {4, 4, 4, 4}, -1.0);
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor rows = off.select(1, 0).unsqueeze(1) + torch::arange(h, opts);  // [n, h]
  const torch::Tensor flip = off.select(1, 2).remainder(2).unsqueeze(1).to(torch::kBool);
  const torch::Tensor ahead = torch::arange(w, opts);
  const torch::Tensor cols = off.select(1, 1).unsqueeze(1) + torch::where(flip, (w - 1) - ahead, ahead);  // [n, w]
  using torch::indexing::TensorIndex;
  return padded.index({torch::arange(n, opts).view({n, 1, 1, 1}), torch::arange(c, opts).view({1, c, 1, 1}),
                       rows.view({n, 1, h, 1}), cols.view({n, 1, 1, w})});
}

Batch DataFeed::augment(Batch b) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 31 + static_cast<std::uint64_t>(rank_) * 1009 + step_);
  const torch::Tensor offsets = at::randint(9, {b.images.size(0), 3}, gen, torch::kLong);
  b.images = crop_and_flip(b.images, offsets);
  return b;
}

std::vector<Batch> evaluation_batches(const Scenario& s, const Network& network, std::uint64_t seed) {
  if (s.dataset == "synthetic") return {synthetic_batch(network.spec, 512, seed, -1, 0)};
  const Dataset test = load_dataset(s, false);
  const std::size_t n = std::min<std::size_t>(test.info.size, 2000);
  std::vector<Batch> batches;
  for (std::size_t at = 0; at < n; at += 250) {
    std::vector<std::int64_t> idx;
    for (std::size_t i = at; i < std::min(n, at + 250); ++i) idx.push_back(static_cast<std::int64_t>(i));
    Batch b = DataFeed::gather(test, idx);
    batches.push_back({b.images.to(torch::kFloat).div_(127.5).sub_(1.0), b.labels, torch::Tensor()});
  }
  return batches;
}

}  // namespace resist::exec
