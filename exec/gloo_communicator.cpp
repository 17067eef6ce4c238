// The Gloo engine: c10d's ProcessGroupGloo for whole-world collectives, direct point-to-point
// transfers for collectives over sub-groups (the holders of a block), so no process group has
// to be created per group. Gloo moves host memory: GPU tensors travel through host copies.
#include <functional>
#include <stdexcept>
#include <utility>

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
      : rank_(rank), size_(size), timeout_(timeout),
        group_(make_group(store, "resist", 1, rank, size, host, timeout)),
        p2p_(make_group(store, "resist-p2p", 2, rank, size, host, timeout)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int tag) override {
    start_allreduce_mean(tensor, group, tag).complete();
  }
  void reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    start_reduce_mean(tensor, group, root, tag).complete();
  }
  void broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    start_broadcast(tensor, group, root, tag).complete();
  }
  void send(at::Tensor& tensor, int peer, int tag) override { start_send(tensor, peer, tag).complete(); }
  void recv(at::Tensor& tensor, int peer, int tag) override { start_recv(tensor, peer, tag).complete(); }

  // Every start_ call posts its Gloo operations before it returns (sends and receives at once), so
  // independent operations move data together; transfer waits for them.

  Pending start_allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int tag) override {
    check_group(group, rank_, size_, -1);
    // c10d's Gloo all-reduce knows no bf16 (LibTorch 1.13: "Invalid scalar type") and would sum
    // fp16 in fp16: reduced-precision tensors take the point-to-point path, which sums in fp32.
    if (static_cast<int>(group.size()) == size_ && !reduced_precision(tensor)) {
      at::Tensor host = host_copy(tensor);
      std::vector<at::Tensor> t{host};
      auto work = group_->allreduce(t);
      return {[this, work, host] { wait(work, "all-reduce over the world"); },
              [this, tensor, host]() mutable {
                if (!host.is_same(tensor)) tensor.copy_(host);
                tensor.div_(static_cast<double>(size_));
              }};
    }
    // The root's mean, then the root's broadcast of it, under the same tag (opposite directions).
    const int root = group.front();
    if (rank_ != root) {
      at::Tensor out = host_copy(tensor);
      at::Tensor in = host_buffer(tensor);
      auto sent = post_send(out, root, tag);
      auto received = post_recv(in, root, tag);
      return {[this, sent, received, root, out] {
                wait(sent, fmt::format("send to rank {}", root));
                wait(received, fmt::format("receive from rank {}", root));
              },
              copy_back(tensor, in)};
    }
    at::Tensor host = host_copy(tensor);
    auto reduce = post_reduce(host, group, root, tag);
    return {[this, reduce, host, group, root, tag] {
              reduce();
              auto sends = post_sends(host, group, root, tag);
              sends();
            },
            copy_back(tensor, host)};
  }

  Pending start_reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    check_group(group, rank_, size_, root);
    if (rank_ != root) return start_send(tensor, root, tag);
    at::Tensor host = host_copy(tensor);
    return {post_reduce(host, group, root, tag), copy_back(tensor, host)};
  }

  Pending start_broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) override {
    check_group(group, rank_, size_, root);
    if (rank_ != root) return start_recv(tensor, root, tag);
    return {post_sends(host_copy(tensor), group, root, tag), {}};
  }

  Pending start_send(at::Tensor& tensor, int peer, int tag) override {
    check_peer(peer);
    at::Tensor out = host_copy(tensor);
    auto work = post_send(out, peer, tag);
    return {[this, work, peer, out] { wait(work, fmt::format("send to rank {}", peer)); }, {}};
  }

  Pending start_recv(at::Tensor& tensor, int peer, int tag) override {
    check_peer(peer);
    if (!tensor.is_contiguous()) throw std::invalid_argument("recv needs a contiguous tensor");
    at::Tensor in = host_buffer(tensor);
    auto work = post_recv(in, peer, tag);
    return {[this, work, peer, in] { wait(work, fmt::format("receive from rank {}", peer)); }, copy_back(tensor, in)};
  }

 private:
  static bool reduced_precision(const at::Tensor& t) {
    return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
  }

  using Work = c10::intrusive_ptr<c10d::Work>;

  /// The tensor's data in host memory, contiguous: itself when it is, else a copy.
  static at::Tensor host_copy(const at::Tensor& t) { return t.is_cuda() ? t.cpu() : t.contiguous(); }
  /// Where to receive a tensor: itself on the host, else a host buffer of its shape and type.
  static at::Tensor host_buffer(const at::Tensor& t) {
    return t.is_cuda() ? at::empty(t.sizes(), t.options().device(at::kCPU)) : t;
  }
  /// Writes what arrived in `host` into the caller's tensor, when they differ.
  static std::function<void()> copy_back(at::Tensor tensor, at::Tensor host) {
    if (host.is_same(tensor)) return {};
    return [tensor, host]() mutable { tensor.copy_(host); };
  }

  /// The Gloo tag of a transfer: c10d picks the point-to-point group's context (so the TCP
  /// connection) by the tag's parity, so each direction between two ranks has a connection of its
  /// own. Over one connection Gloo sometimes moved the two directions of an exchange in turn
  /// (measured over an emulated 20 Mbit/s link, 1 MB each way: up to 0.78 s, the sum; over two
  /// connections at most 0.59 s, as raw TCP, and 0.40-0.48 s with resist emulate's shallower queues).
  static int direction_tag(int tag, int from, int to) { return tag * 2 + (from < to ? 0 : 1); }

  Work post_send(at::Tensor host, int peer, int tag) {
    std::vector<at::Tensor> t{std::move(host)};
    return p2p_->send(t, peer, direction_tag(tag, rank_, peer));
  }
  Work post_recv(at::Tensor host, int peer, int tag) {
    std::vector<at::Tensor> t{std::move(host)};
    return p2p_->recv(t, peer, direction_tag(tag, peer, rank_));
  }

  /// The root's sends of `host` to every other member, posted now; the call waits for them.
  std::function<void()> post_sends(const at::Tensor& host, const std::vector<int>& group, int root, int tag) {
    std::vector<std::pair<int, Work>> works;
    for (int member : group)
      if (member != root) works.emplace_back(member, post_send(host, member, tag));
    return [this, works, host] {
      for (const auto& [member, work] : works) wait(work, fmt::format("send to rank {}", member));
    };
  }

  /// The root's receives from every other member, posted now; the call waits for them and leaves
  /// the mean in `host` (bf16 and fp16 travel as they are but are summed in fp32).
  std::function<void()> post_reduce(const at::Tensor& host, const std::vector<int>& group, int root, int tag) {
    std::vector<std::pair<int, Work>> works;
    std::vector<at::Tensor> incoming;
    for (int member : group) {
      if (member == root) continue;
      incoming.push_back(at::empty_like(host));
      works.emplace_back(member, post_recv(incoming.back(), member, tag));
    }
    const double members = static_cast<double>(group.size());
    return [this, works, incoming, host, members]() mutable {
      at::Tensor sum = reduced_precision(host) ? host.to(at::kFloat) : host;
      for (std::size_t i = 0; i < works.size(); ++i) {
        wait(works[i].second, fmt::format("receive from rank {}", works[i].first));
        sum.add_(incoming[i]);
      }
      sum.div_(members);
      if (!sum.is_same(host)) host.copy_(sum);
    };
  }

  /// A process group of its own TCP connections (`contexts` per pair of ranks). The world's
  /// all-reduce and the point-to-point transfers each have a group: a TCP connection is one byte
  /// stream, and Gloo's rendezvous (a receiver tells the sender it is ready; the payload follows)
  /// sends its notices on the connection of the data. Sharing one, a ring all-reduce's notices
  /// waited behind a block's whole payload to the same peer, and the ring, which moves at its
  /// slowest hop, stalled everywhere meanwhile (tests/test_emulated_cluster.cpp shows it). On 4
  /// emulated hosts at 10 Mbit/s ResIST's rounds (l = 1) took 9.7 s (median) on shared
  /// connections, 8.7-9.2 s on their own; a round without a block to a ring neighbour, 8.6-8.7 s
  /// either way.
  static c10::intrusive_ptr<c10d::ProcessGroupGloo> make_group(
      const c10::intrusive_ptr<c10d::Store>& store, const std::string& prefix, int contexts, int rank, int size,
      const std::string& host, std::chrono::milliseconds timeout) {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    for (int i = 0; i < contexts; ++i) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    return c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>(prefix, store), rank,
                                                      size, options);
  }

  /// Waits for one operation; its failure says what it was, and whether it ran out of time.
  /// c10d's own wait throws c10::Error ("Operation timed out!"); a failure in Gloo's thread comes
  /// back as Gloo threw it (gloo::IoException: "Timed out waiting 3000ms for recv operation to
  /// complete", its time counted from when the operation was posted).
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) const {
    const auto start = std::chrono::steady_clock::now();
    try {
      work->wait(timeout_);
    } catch (const c10::Error& e) {
      fail(what, e.what_without_backtrace(), start);
    } catch (const std::exception& e) {
      fail(what, e.what(), start);
    }
  }

  [[noreturn]] void fail(const std::string& what, const std::string& message,
                         std::chrono::steady_clock::time_point start) const {
    const bool late = std::chrono::steady_clock::now() - start >= timeout_ ||
                      message.find("Timed out") != std::string::npos || message.find("timed out") != std::string::npos;
    throw std::runtime_error(fmt::format(
        "Gloo engine, rank {}: {}: {}{}", rank_, what, message,
        late ? fmt::format(" (waited the time-out, {} s: a peer died or hangs)",
                           std::chrono::duration_cast<std::chrono::seconds>(timeout_).count())
             : ""));
  }

  void check_peer(int peer) const {
    if (peer < 0 || peer >= size_ || peer == rank_)
      throw std::invalid_argument(fmt::format("rank {} cannot exchange with peer {} (world of {})",
                                              rank_, peer, size_));
  }

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;  ///< the world's all-reduce
  c10::intrusive_ptr<c10d::ProcessGroupGloo> p2p_;    ///< point-to-point transfers, two contexts (direction_tag)
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
