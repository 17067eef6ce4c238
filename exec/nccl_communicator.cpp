// The NCCL engine, written against NCCL and the CUDA runtime directly: raw device pointers and one
// stream per communicator. Tensors already on the GPU are used in place; host tensors (Debian's
// LibTorch is CPU-only) are staged through a device buffer. World collectives use the world
// communicator; a collective over a sub-group (the holders of a block) uses a communicator of
// just those ranks, created on first use (its unique id travels through the store) and cached.
// Communicators are non-blocking (config.blocking = 0): creating one, and every operation, is
// polled with a deadline, so a peer that died or hangs stops this rank after the time-out instead
// of blocking it for ever; the communicator is then aborted.
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <stdexcept>
#include <thread>

#include <cuda_runtime.h>
#include <nccl.h>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "exec/communicator.hpp"

namespace resist::exec {
namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(fmt::format("NCCL engine: {}: {}", what, cudaGetErrorString(e)));
}

void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess && r != ncclInProgress)  // in progress: non-blocking communicators, polled
    throw std::runtime_error(fmt::format("NCCL engine: {}: {}", what, ncclGetErrorString(r)));
}

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    default:
      throw std::invalid_argument(fmt::format("NCCL engine: tensors of type {} are not supported",
                                              c10::toString(t.scalar_type())));
  }
}

/// A unique id through the store: the first member creates it, the others wait for it.
ncclUniqueId shared_id(c10d::Store& store, const std::string& key, bool create) {
  ncclUniqueId id;
  if (create) {
    nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&id);
    store.set(key, std::vector<std::uint8_t>(bytes, bytes + sizeof id));
  } else {
    const std::vector<std::uint8_t> bytes = store.get(key);  // waits up to the store's time-out
    if (bytes.size() != sizeof id) throw std::runtime_error("NCCL engine: malformed unique id in the store");
    std::memcpy(&id, bytes.data(), sizeof id);
  }
  return id;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, int local_rank,
                   std::chrono::milliseconds timeout)
      : store_(store), rank_(rank), size_(size), timeout_(timeout) {
    int devices = 0;
    const cudaError_t e = cudaGetDeviceCount(&devices);
    if (e != cudaSuccess || devices == 0)
      throw std::runtime_error(fmt::format("NCCL engine: no CUDA device here ({}); use --backend gloo",
                                           e == cudaSuccess ? "0 devices" : cudaGetErrorString(e)));
    if (local_rank >= devices)
      throw std::runtime_error(fmt::format("NCCL engine: local rank {} needs GPU {}, but this machine "
                                           "has {}; NCCL takes one GPU per rank (ranks sharing a GPU: "
                                           "--backend gloo)", local_rank, local_rank, devices));
    device_ = local_rank;
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
    const ncclUniqueId id = shared_id(*store_, "resist/nccl/world", rank == 0);
    world_ = create(size, id, rank, "ncclCommInitRank (world)");
  }

  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    for (auto& [group, comm] : groups_) close(comm);
    if (world_) close(world_);
    if (staging_) cudaFree(staging_);
    if (ready_) cudaEventDestroy(ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_mean(at::Tensor& tensor, const std::vector<int>& group, int) override {
    check_group(group, rank_, size_, -1);
    const ncclComm_t comm = comm_of(group);
    run(tensor, comm, "ncclAllReduce", [&](void* p, std::size_t n, ncclDataType_t type) {
      return ncclAllReduce(p, p, n, type, ncclAvg, comm, stream_);
    });
  }

  void reduce_mean(at::Tensor& tensor, const std::vector<int>& group, int root, int) override {
    check_group(group, rank_, size_, root);
    const int sub_root = index_in(group, root);
    at::Tensor copy = rank_ == root ? tensor : tensor.clone();  // non-roots keep their tensor
    const ncclComm_t comm = comm_of(group);
    run(copy, comm, "ncclReduce", [&](void* p, std::size_t n, ncclDataType_t type) {
      return ncclReduce(p, p, n, type, ncclAvg, sub_root, comm, stream_);
    });
  }

  void broadcast(at::Tensor& tensor, const std::vector<int>& group, int root, int) override {
    check_group(group, rank_, size_, root);
    const int sub_root = index_in(group, root);
    const ncclComm_t comm = comm_of(group);
    run(tensor, comm, "ncclBroadcast", [&](void* p, std::size_t n, ncclDataType_t type) {
      return ncclBroadcast(p, p, n, type, sub_root, comm, stream_);
    });
  }

  void send(at::Tensor& tensor, int peer, int) override {
    check_peer(peer);
    run(tensor, world_, "ncclSend", [&](void* p, std::size_t n, ncclDataType_t type) {
      return ncclSend(p, n, type, peer, world_, stream_);
    }, /*copy_back=*/false);
  }

  void recv(at::Tensor& tensor, int peer, int) override {
    check_peer(peer);
    run(tensor, world_, "ncclRecv", [&](void* p, std::size_t n, ncclDataType_t type) {
      return ncclRecv(p, n, type, peer, world_, stream_);
    }, /*copy_back=*/true, /*copy_in=*/false);
  }

 private:
  void check_peer(int peer) const {
    if (peer < 0 || peer >= size_ || peer == rank_)
      throw std::invalid_argument(fmt::format("peer {} is not another rank of 0..{}", peer, size_ - 1));
  }

  static int index_in(const std::vector<int>& group, int rank) {
    for (std::size_t i = 0; i < group.size(); ++i)
      if (group[i] == rank) return static_cast<int>(i);
    return -1;
  }

  /// The communicator of a group: the world's, or one made for exactly these ranks.
  ncclComm_t comm_of(const std::vector<int>& group) {
    if (static_cast<int>(group.size()) == size_) return world_;
    const auto found = groups_.find(group);
    if (found != groups_.end()) return found->second;
    std::string key = "resist/nccl/group";
    for (int r : group) key += fmt::format("/{}", r);
    const ncclUniqueId id = shared_id(*store_, key, rank_ == group.front());
    const ncclComm_t comm = create(static_cast<int>(group.size()), id, index_in(group, rank_),
                                   "ncclCommInitRank (group)");
    groups_.emplace(group, comm);
    return comm;
  }

  /// A non-blocking communicator of `size` ranks, ready for use (its creation waited for).
  ncclComm_t create(int size, const ncclUniqueId& id, int rank, const char* what) {
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclComm_t comm = nullptr;
    nccl_check(ncclCommInitRankConfig(&comm, size, id, rank, &config), what);
    settle(comm, what, std::chrono::steady_clock::now());
    return comm;
  }

  /// Frees a communicator at the end: finalised (its last operations flushed) within the
  /// time-out, else aborted; aborted at once after a failure, or while an exception unwinds (a
  /// peer may be gone: finalising would wait on it). Throws nothing (destructor).
  void close(ncclComm_t comm) {
    if (failed_ || std::uncaught_exceptions() > 0) {
      ncclCommAbort(comm);
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    ncclResult_t state = ncclCommFinalize(comm);
    while (state == ncclInProgress && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) state = ncclInternalError;
    }
    if (state == ncclSuccess) ncclCommDestroy(comm);
    else ncclCommAbort(comm);
  }

  /// Runs one NCCL call (`call` returns its result) on the tensor's device memory, staging host
  /// tensors, and waits for it on communicator `comm`.
  template <typename Call>
  void run(at::Tensor& tensor, ncclComm_t comm, const char* what, Call&& call, bool copy_back = true,
           bool copy_in = true) {
    if (!tensor.is_contiguous()) throw std::invalid_argument("NCCL engine: tensors must be contiguous");
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    const std::size_t bytes = tensor.numel() * tensor.element_size();
    const ncclDataType_t type = nccl_type(tensor);
    const auto n = static_cast<std::size_t>(tensor.numel());
    if (tensor.is_cuda()) {
      if (tensor.get_device() != device_)
        throw std::invalid_argument(fmt::format("NCCL engine: a tensor on GPU {}, but this rank uses GPU {}",
                                                tensor.get_device(), device_));
      // The tensor was written by LibTorch's kernels on the legacy default stream: this
      // communicator's stream waits for them before NCCL reads it.
      cuda_check(cudaEventRecord(ready_, cudaStreamLegacy), "cudaEventRecord");
      cuda_check(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent");
      nccl_check(call(tensor.data_ptr(), n, type), what);
      wait_for(comm, what);
      return;
    }
    if (bytes > staging_bytes_) {
      if (staging_) cuda_check(cudaFree(staging_), "cudaFree");
      staging_ = nullptr;
      cuda_check(cudaMalloc(&staging_, bytes), "cudaMalloc");
      staging_bytes_ = bytes;
    }
    if (copy_in)
      cuda_check(cudaMemcpyAsync(staging_, tensor.data_ptr(), bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    nccl_check(call(staging_, n, type), what);
    if (copy_back)
      cuda_check(cudaMemcpyAsync(tensor.data_ptr(), staging_, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    wait_for(comm, what);
  }

  /// Waits until the stream's work is done. A peer that died or hangs shows as work that never
  /// ends, or as an asynchronous NCCL error: the communicator is then aborted (nothing waits on it
  /// any more) and the call throws.
  void wait_for(ncclComm_t comm, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    settle(comm, what, start);  // a non-blocking call may return before its work is on the stream
    for (;;) {
      const cudaError_t e = cudaStreamQuery(stream_);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady) cuda_check(e, what);
      state_of(comm, what);
      check_deadline(comm, what, start);
      pause(start);
    }
  }

  /// Waits until the communicator has no call in progress (its creation, or an operation being
  /// enqueued), within the time-out.
  void settle(ncclComm_t comm, const char* what, std::chrono::steady_clock::time_point start) {
    while (state_of(comm, what) == ncclInProgress) {
      check_deadline(comm, what, start);
      pause(start);
    }
  }

  /// ncclSuccess or ncclInProgress; an asynchronous error aborts the communicator and throws.
  ncclResult_t state_of(ncclComm_t comm, const char* what) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t r = ncclCommGetAsyncError(comm, &state);
    if (r != ncclSuccess) fail(comm, fmt::format("NCCL engine: ncclCommGetAsyncError after {}: {}", what, ncclGetErrorString(r)));
    if (state != ncclSuccess && state != ncclInProgress)
      fail(comm, fmt::format("NCCL engine: {} failed: {}", what, ncclGetErrorString(state)));
    return state;
  }

  void check_deadline(ncclComm_t comm, const char* what, std::chrono::steady_clock::time_point start) {
    if (std::chrono::steady_clock::now() - start > timeout_)
      fail(comm, fmt::format("NCCL engine: {} did not finish within {} s (a peer died or hangs)", what,
                             std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()));
  }

  [[noreturn]] void fail(ncclComm_t comm, const std::string& failure) {
    failed_ = true;
    abort(comm);
    throw std::runtime_error(failure + "; communicator aborted");
  }

  /// Short operations finish within a few yields; long ones are polled every 50 us.
  static void pause(std::chrono::steady_clock::time_point start) {
    if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2)) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

  /// Aborts a communicator (its pending work ends) and forgets it.
  void abort(ncclComm_t comm) {
    ncclCommAbort(comm);
    if (comm == world_) world_ = nullptr;
    for (auto it = groups_.begin(); it != groups_.end();)
      it = it->second == comm ? groups_.erase(it) : std::next(it);
  }

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, size_;
  std::chrono::milliseconds timeout_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;  // LibTorch's work on a GPU tensor is done
  ncclComm_t world_ = nullptr;
  std::map<std::vector<int>, ncclComm_t> groups_;
  void* staging_ = nullptr;
  std::size_t staging_bytes_ = 0;
  bool failed_ = false;  // an operation failed: the remaining communicators are aborted, not finalised
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const c10::intrusive_ptr<c10d::Store>& store,
                                                     int rank, int size, int local_rank,
                                                     std::chrono::milliseconds timeout) {
  return std::make_unique<NcclCommunicator>(store, rank, size, local_rank, timeout);
}

}  // namespace resist::exec
