// The executor's one communication interface: what plan operations need, over a group of ranks.
// Engines: Gloo through c10d (CPU), and NCCL on GPUs (built when CUDA and NCCL are found).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace resist::exec {

/// How long a rank waits on the others in one operation before it gives up (throws): a peer that
/// died or hangs stops the job in bounded time.
inline constexpr std::chrono::milliseconds kDefaultOpTimeout{std::chrono::minutes(10)};

/// An operation started and not yet complete. `transfer` blocks until the engine's part is over
/// (it throws on failure or time-out) and may run on any thread, concurrently with other
/// operations' transfers; `finish` then runs on the thread that started it and puts the result
/// in place (copies back to a GPU, a division). Either may be empty. The tensor an operation was
/// started on must stay alive, and untouched, until it has finished.
struct Pending {
  std::function<void()> transfer;
  std::function<void()> finish;

  /// transfer, then finish, on this thread.
  void complete() {
    if (transfer) transfer();
    if (finish) finish();
  }
};

/// Collectives over any ascending group of ranks that includes the caller, and point-to-point
/// transfers, of host or GPU tensors (each engine moves them as it must). The blocking calls
/// return when this rank's part is done, or throw after the engine's time-out. The start_ calls
/// start an operation and return it pending, so that operations the plan leaves independent run
/// at once (an engine that cannot overlap them does the work before returning). `tag` tells
/// concurrent operations apart (the plan's round and op id make one); every member must pass the
/// same tag.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual Pending start_allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int tag) {
    allreduce_mean(tensor, group, tag);
    return {};
  }
  virtual Pending start_reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) {
    reduce_mean(tensor, group, root, tag);
    return {};
  }
  virtual Pending start_broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) {
    broadcast(tensor, group, root, tag);
    return {};
  }
  virtual Pending start_send(at::Tensor& tensor, int peer, int tag) {
    send(tensor, peer, tag);
    return {};
  }
  virtual Pending start_recv(at::Tensor& tensor, int peer, int tag) {
    recv(tensor, peer, tag);
    return {};
  }

  virtual int rank() const = 0;
  virtual int size() const = 0;

  /// Every member ends with the element-wise mean of the members' tensors.
  virtual void allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int tag) = 0;
  /// The root ends with the mean of the members' tensors; the others' are left as they were.
  virtual void reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) = 0;
  /// Every member ends with the root's tensor, bit for bit.
  virtual void broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int tag) = 0;
  /// Sends to one peer; the peer receives into a tensor of the same shape and type.
  virtual void send(at::Tensor& tensor, int peer, int tag) = 0;
  virtual void recv(at::Tensor& tensor, int peer, int tag) = 0;
};

/// A Gloo engine (c10d's ProcessGroupGloo) whose ranks meet through `store` (a TCPStore across
/// processes, a HashStore across threads). `interface_host` is the address Gloo binds to.
std::unique_ptr<Communicator> make_gloo_communicator(const c10::intrusive_ptr<c10d::Store>& store,
                                                     int rank, int size,
                                                     const std::string& interface_host = "127.0.0.1",
                                                     std::chrono::milliseconds timeout = kDefaultOpTimeout);

/// An NCCL engine on GPU `local_rank` of this machine, its unique ids exchanged through `store`.
/// Throws std::runtime_error when there is no such GPU. An operation still running after `timeout`
/// aborts its communicator and throws (communicator set-up waits on the store's time-out for the
/// unique id, then on NCCL itself). Declared always; defined only in builds with the `nccl`
/// feature (RESIST_HAVE_NCCL).
std::unique_ptr<Communicator> make_nccl_communicator(const c10::intrusive_ptr<c10d::Store>& store,
                                                     int rank, int size, int local_rank,
                                                     std::chrono::milliseconds timeout = kDefaultOpTimeout);

/// Checks a group: ascending, within [0, size), containing `rank`, `root` a member (-1: none).
/// Throws std::invalid_argument saying what is wrong.
void check_group(const std::vector<int>& group, int rank, int size, int root);

}  // namespace resist::exec
