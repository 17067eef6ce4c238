// Small networking helpers for launching jobs; no LibTorch.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace resist::exec {

/// A TCP port on 127.0.0.1 for a job's rendezvous, reserved while this object lives: a socket bound
/// to it (SO_REUSEADDR, close-on-exec) and never listened on. The kernel hands the port to no other
/// socket meanwhile (an unused port found and let go could be taken by any process before worker
/// 0's store binds it), connections to it are refused until a store listens there, and worker 0's
/// store, which binds with SO_REUSEADDR as c10d's TCPStore does, may listen there. Throws
/// std::runtime_error when no port can be bound.
class HeldPort {
 public:
  HeldPort();
  ~HeldPort();
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// Where this process stands in a job started by an external launcher.
struct JobPlace {
  int rank = 0;
  int world = 1;
  int local_rank = 0;  ///< rank among the job's processes on this machine (picks the GPU)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher;  ///< whose variables said so: "torchrun-style", "Slurm", "Open MPI", "MPICH/PMI"
  bool spans_hosts = false;  ///< the launcher says the job has processes on other machines
  /// Processes of the job on this machine (the launcher's local size; Slurm: tasks over nodes,
  /// rounded up; the world when the launcher does not say and the job is on one machine).
  int local_world = 1;
};

/// The job this process belongs to, from the launcher's environment: torchrun-style (RANK,
/// WORLD_SIZE, LOCAL_RANK), Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID), Open MPI
/// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK) or MPICH/PMI (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID),
/// first found wins; the rendezvous from MASTER_ADDR (default 127.0.0.1) and MASTER_PORT (29500).
/// Empty when none of those rank variables is set. Throws InputError (source "environment",
/// pointer the variable) for a value that is not a number or is out of range.
std::optional<JobPlace> job_from_environment();

/// Where Gloo should listen in a job: the IPv4 address of the interface GLOO_SOCKET_IFNAME names
/// when set; else the address this machine reaches `master_addr` from (a route lookup; nothing is
/// sent), which is 127.0.0.1 when the rendezvous is on this machine's loopback. A loopback answer
/// for a job that `spans_hosts` is refused (InputError, source "environment", pointer MASTER_ADDR)
/// with the fix: the other machines could not reach it (a host name /etc/hosts maps to 127.0.1.1).
std::string default_bind_host(const std::string& master_addr, bool spans_hosts = false);

/// CPUs this process may run on (its affinity mask; at least 1).
int usable_cores();

/// The environment setting that keeps `workers` processes of `threads` intra-op threads each from
/// spinning against each other when they outnumber `cores`: OpenMP's threads otherwise busy-wait at
/// every parallel region's end on cores the other workers need (measured on 2 cores, 2 workers x 2
/// threads: 149 images/s per worker spinning, 394 passive). Empty when they fit, or when the user
/// set OMP_WAIT_POLICY (`current`) already.
std::optional<std::string> omp_wait_policy(int workers, int threads, int cores, const char* current);

/// A warning when a process map (/proc/self/maps' text) shows BLAS served by Debian's reference
/// implementation (.../blas/libblas.so.3): LibTorch's fully connected layers then run several times
/// slower than with OpenBLAS. Empty otherwise.
std::optional<std::string> reference_blas_warning(std::string_view maps);

/// A listening TCP socket: the kernel completes connection attempts to it while this process
/// lives, so a peer can tell whether this worker's host can be reached and whether the worker still
/// runs (probe_peers). With a `status`, a thread of its own answers each connection with one line,
/// what `status` returns then (ask_peers), however busy or stuck the worker's other threads are.
class ProbePort {
 public:
  /// Listens on `host` (an IPv4 address), on a port the kernel picks. Throws std::runtime_error.
  explicit ProbePort(const std::string& host, std::function<std::string()> status = {});
  ~ProbePort();
  ProbePort(const ProbePort&) = delete;
  ProbePort& operator=(const ProbePort&) = delete;
  /// "host:port"
  const std::string& address() const { return address_; }

 private:
  void serve();

  int fd_ = -1;
  int stop_ = -1;  ///< eventfd that ends the serving thread
  std::function<std::string()> status_;
  std::thread server_;
  std::string address_;
};

enum class PeerState {
  answers,      ///< its host and its process are there (it may still hang)
  not_running,  ///< its host refused the connection: the process is gone
  unreachable,  ///< no answer within the time (link or host down), or no route
};

/// Tries a TCP connection to each "host:port" (ProbePort addresses) at once; waits at most
/// `timeout` in all. An empty address is reported unreachable.
std::vector<PeerState> probe_peers(const std::vector<std::string>& addresses, std::chrono::milliseconds timeout);

/// Asks each "host:port" (ProbePort addresses with a status) at once for its line, waiting at most
/// `timeout` in all: the line without its newline, or empty for a peer that cannot be reached,
/// refused, or did not answer in time.
std::vector<std::optional<std::string>> ask_peers(const std::vector<std::string>& addresses,
                                                  std::chrono::milliseconds timeout);

/// Waits until something listens at `host:port` (worker 0's store), trying every 10 ms for at most
/// `timeout`: `answers` once a connection was accepted, `not_running` where it refused until then,
/// `unreachable` where `host` does not resolve to an IPv4 address or does not answer within a
/// second (the caller's own connection attempt then says why). c10d's store client, refused,
/// sleeps a whole second before it tries again, and workers started together come before worker 0
/// listens: with 4 workers on 2 cores that second was a third of each one's start-up.
PeerState await_listener(const std::string& host, int port, std::chrono::milliseconds timeout);

/// What the probes say, for an error message: "rank 1 (10.0.0.2) cannot be reached from rank 0's
/// host; rank 2 (10.0.0.3) is not running"; empty where every peer answers. `self` is left out.
std::string describe_peers(const std::vector<std::string>& addresses, const std::vector<PeerState>& states, int self);

}  // namespace resist::exec
