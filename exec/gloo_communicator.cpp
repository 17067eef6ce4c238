// The Gloo engine: c10d's ProcessGroupGloo for whole-world collectives, direct point-to-point
// transfers for collectives over sub-groups (the holders of a block), so no process group has
// to be created per group. Gloo moves host memory: GPU tensors travel through host copies.
#include <stdexcept>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "exec/communicator.hpp"

namespace resist::exec {
namespace {

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                   const std::string& host, std::chrono::milliseconds timeout)
      : rank_(rank), size_(size), timeout_(timeout), group_(make_group(store, rank, size, host, timeout)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int tag) override {
    check_group(group, rank_, size_, -1);
    // c10d's Gloo all-reduce knows no bf16 (LibTorch 1.13: "Invalid scalar type") and would sum
    // fp16 in fp16: reduced-precision tensors take the point-to-point path, which sums in fp32.
    if (static_cast<int>(group.size()) == size_ && !reduced_precision(tensor)) {
      on_host(tensor, true, [&](at::Tensor& h) {
        std::vector<at::Tensor> t{h};
        wait(group_->allreduce(t), "all-reduce over the world");
      });
      tensor.div_(static_cast<double>(size_));
      return;
    }
    reduce_mean(tensor, group, group.front(), tag);
    broadcast(tensor, group, group.front(), tag);
  }

  void reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    check_group(group, rank_, size_, root);
    if (rank_ != root) {
      send(tensor, root, tag);
      return;
    }
    at::Tensor incoming = at::empty_like(tensor);
    // bf16 and fp16 travel as they are but are summed in fp32.
    at::Tensor sum = reduced_precision(tensor) ? tensor.to(at::kFloat) : tensor;
    for (int member : group) {
      if (member == root) continue;
      recv(incoming, member, tag);
      sum.add_(incoming);
    }
    sum.div_(static_cast<double>(group.size()));
    if (!sum.is_same(tensor)) tensor.copy_(sum);
  }

  void broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    check_group(group, rank_, size_, root);
    if (rank_ != root) {
      recv(tensor, root, tag);
      return;
    }
    for (int member : group)
      if (member != root) send(tensor, member, tag);
  }

  void send(at::Tensor& tensor, int peer, int tag) override {
    check_peer(peer);
    on_host(tensor, false, [&](at::Tensor& h) {
      std::vector<at::Tensor> t{h.is_contiguous() ? h : h.contiguous()};
      wait(group_->send(t, peer, tag), fmt::format("send to rank {}", peer));
    });
  }

  void recv(at::Tensor& tensor, int peer, int tag) override {
    check_peer(peer);
    if (!tensor.is_contiguous()) throw std::invalid_argument("recv needs a contiguous tensor");
    on_host(tensor, true, [&](at::Tensor& h) {
      std::vector<at::Tensor> t{h};
      wait(group_->recv(t, peer, tag), fmt::format("receive from rank {}", peer));
    });
  }

 private:
  static bool reduced_precision(const at::Tensor& t) {
    return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
  }

  /// Runs `op` on the tensor, or for a GPU tensor on a host copy of it (copied back if asked).
  template <typename Op>
  static void on_host(at::Tensor& tensor, bool copy_back, Op&& op) {
    if (!tensor.is_cuda()) {
      op(tensor);
      return;
    }
    at::Tensor host = tensor.cpu();
    op(host);
    if (copy_back) tensor.copy_(host);
  }

  static c10::intrusive_ptr<c10d::ProcessGroupGloo> make_group(
      const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, const std::string& host,
      std::chrono::milliseconds timeout) {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    return c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("resist", store), rank, size, options);
  }

  /// Waits for one operation; its failure says what it was, and whether it ran out of time.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) const {
    const auto start = std::chrono::steady_clock::now();
    try {
      work->wait(timeout_);
    } catch (const c10::Error& e) {
      const bool late = std::chrono::steady_clock::now() - start >= timeout_;
      throw std::runtime_error(fmt::format(
          "Gloo engine, rank {}: {}: {}{}", rank_, what, e.what_without_backtrace(),
          late ? fmt::format(" (waited the time-out, {} s: a peer died or hangs)",
                             std::chrono::duration_cast<std::chrono::seconds>(timeout_).count())
               : ""));
    }
  }

  void check_peer(int peer) const {
    if (peer < 0 || peer >= size_ || peer == rank_)
      throw std::invalid_argument(fmt::format("rank {} cannot exchange with peer {} (world of {})",
                                              rank_, peer, size_));
  }

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

void check_group(const std::vector<int>& group, int rank, int size, int root) {
  bool has_rank = false, has_root = root < 0;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i] < 0 || group[i] >= size)
      throw std::invalid_argument(fmt::format("group member {} is outside the world of {}", group[i], size));
    if (i > 0 && group[i] <= group[i - 1])
      throw std::invalid_argument("group members must ascend, once each");
    has_rank = has_rank || group[i] == rank;
    has_root = has_root || group[i] == root;
  }
  if (!has_rank) throw std::invalid_argument(fmt::format("rank {} is not in the group", rank));
  if (!has_root) throw std::invalid_argument(fmt::format("root {} is not in the group", root));
}

std::unique_ptr<Communicator> make_gloo_communicator(const c10::intrusive_ptr<c10d::Store>& store,
                                                     int rank, int size,
                                                     const std::string& interface_host,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<GlooCommunicator>(store, rank, size, interface_host, timeout);
}

}  // namespace resist::exec
