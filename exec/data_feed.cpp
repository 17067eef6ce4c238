#include "exec/data_feed.hpp"

#include <cstring>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

namespace resist::exec {

DataFeed::DataFeed(const Scenario& s, int rank, int world) : s_(s), rank_(rank) {
  if (s.dataset == "synthetic") return;
  data_ = load_dataset(s, true);
  for (std::size_t i = static_cast<std::size_t>(rank); i < data_.info.size; i += static_cast<std::size_t>(world))
    shard_.push_back(static_cast<std::int64_t>(i));
  if (shard_.empty()) throw std::invalid_argument(fmt::format("worker {} has no training samples", rank));
}

Batch DataFeed::next(int batch) {
  if (shard_.empty()) return synthetic_batch(s_.model, batch, s_.strategy.seed, rank_, step_++);
  std::vector<std::int64_t> picked;
  while (static_cast<int>(picked.size()) < batch) {
    if (cursor_ == order_.size()) reshuffle();
    picked.push_back(order_[cursor_++]);
  }
  ++step_;
  Batch b = gather(data_, picked);
  return s_.dataset == "fashion_mnist" ? b : augment(b);
}

FeedPosition DataFeed::position() const {
  return {static_cast<std::int64_t>(epoch_), static_cast<std::int64_t>(cursor_), static_cast<std::int64_t>(step_)};
}

void DataFeed::restore(const FeedPosition& p) {
  step_ = static_cast<std::uint64_t>(p.step);
  epoch_ = static_cast<std::uint64_t>(p.epoch);
  if (!shard_.empty() && epoch_ > 0) {
    --epoch_;  // rebuild that epoch's order
    reshuffle();
  }
  cursor_ = static_cast<std::size_t>(p.cursor);
}

Batch DataFeed::gather(const Dataset& d, const std::vector<std::int64_t>& indices) {
  const std::int64_t per = d.info.channels * d.info.height * d.info.width;
  torch::Tensor x = torch::empty({static_cast<std::int64_t>(indices.size()), d.info.channels,
                                  d.info.height, d.info.width}, torch::kUInt8);
  torch::Tensor y = torch::empty({static_cast<std::int64_t>(indices.size())}, torch::kLong);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::memcpy(x[static_cast<std::int64_t>(k)].data_ptr(), d.pixels.data() + indices[k] * per,
                static_cast<std::size_t>(per));
    y[static_cast<std::int64_t>(k)] = static_cast<std::int64_t>(d.labels[static_cast<std::size_t>(indices[k])]);
  }
  return {x.to(torch::kFloat).div_(127.5).sub_(1.0), y};
}

void DataFeed::reshuffle() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 7919 + static_cast<std::uint64_t>(rank_) * 104729 + epoch_++);
  const torch::Tensor perm = at::randperm(static_cast<std::int64_t>(shard_.size()), gen);
  order_.clear();
  for (std::int64_t i = 0; i < perm.size(0); ++i) order_.push_back(shard_[static_cast<std::size_t>(perm[i].item<std::int64_t>())]);
  cursor_ = 0;
}

/// Random 4-pixel-padded crops and horizontal flips, per sample.
Batch DataFeed::augment(Batch b) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s_.strategy.seed * 31 + static_cast<std::uint64_t>(rank_) * 1009 + step_);
  const std::int64_t h = b.images.size(2), w = b.images.size(3);
  const torch::Tensor padded = torch::constant_pad_nd(b.images, {4, 4, 4, 4}, -1.0);
  const torch::Tensor offsets = at::randint(9, {b.images.size(0), 3}, gen, torch::kLong);
  for (std::int64_t k = 0; k < b.images.size(0); ++k) {
    torch::Tensor crop = padded[k].narrow(1, offsets[k][0].item<std::int64_t>(), h)
                             .narrow(2, offsets[k][1].item<std::int64_t>(), w);
    b.images[k].copy_(offsets[k][2].item<std::int64_t>() % 2 ? crop.flip({2}) : crop);
  }
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
    batches.push_back(DataFeed::gather(test, idx));
  }
  return batches;
}

}  // namespace resist::exec
