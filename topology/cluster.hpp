// A cluster as plain data: GPUs, switches, the links between them, and where workers run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/dtype.hpp"

namespace resist {

/// A GPU model with its peak arithmetic rates and its memory's bandwidth.
struct GpuModel {
  std::string name;
  std::map<Dtype, double> peak_flops;  ///< FLOP/s by element type (absent: not supported)
  double memory_bytes = 0;
  /// fp32 convolutions on TF32 tensor cores, FLOP/s (0: none). LibTorch lets cuDNN do so by default
  /// (torch.backends.cudnn.allow_tf32), so fp32 training runs its convolutions at this rate.
  double tf32_flops = 0;
  /// Bytes per second of device memory (0: not known; compute is then timed from FLOPs alone).
  double memory_bandwidth = 0;

  /// The arithmetic rate training in `dtype` reaches at peak: TF32's for fp32 where there is one.
  /// `dtype` must be one the model supports.
  double training_flops(Dtype dtype) const {
    return dtype == Dtype::fp32 && tf32_flops > 0 ? tf32_flops : peak_flops.at(dtype);
  }
};

enum class ElementKind { gpu, switch_ };

/// A GPU or a switch (NVSwitch, PCIe switch, network switch).
struct Element {
  std::string name;
  ElementKind kind = ElementKind::gpu;
  std::string gpu_model;  ///< GPUs only
};

/// TCP/IPv4 over Ethernet with frames of `mtu` bytes: the share of the wire's bit rate that carries
/// data when both directions carry data (as ring collectives and block exchanges do). A segment
/// carries mtu - 52 bytes (IPv4 and TCP headers with timestamps) in mtu + 38 bytes of wire time
/// (Ethernet header 14, FCS 4, preamble 8, inter-frame gap 12); every second segment is acknowledged
/// by a 90-byte frame in the other direction, which there takes the place of data: 45 more bytes a
/// segment. 1,500 bytes: 0.9147; 9,000: 0.9851.
double tcp_payload_fraction(int mtu);

/// A full-duplex link: the bandwidth holds in each direction.
struct ClusterLink {
  std::string name;
  std::string kind = "other";  ///< nvlink, pcie, ethernet, infiniband, other
  std::size_t a = 0;           ///< element indices
  std::size_t b = 0;
  double bandwidth = 0;  ///< bytes per second, each direction
  double latency = 0;    ///< seconds
  int mtu = 0;  ///< TCP over Ethernet: the frames' MTU in bytes (0: the link names no transport)

  /// Share of the bandwidth that carries the plan's bytes: 1, or for TCP over Ethernet
  /// tcp_payload_fraction(mtu).
  double payload_fraction() const { return mtu > 0 ? tcp_payload_fraction(mtu) : 1.0; }
};

/// What renting the cluster costs, as its file states (a list price, dated).
struct ClusterPrice {
  double gpu_hour = 0;    ///< per GPU per hour
  double network_gb = 0;  ///< per GB the plan puts on the wire (cross-zone or egress traffic)
  std::string currency;   ///< "USD"
  std::string as_of;      ///< "2026-11" or "2026-11-02"
  std::string source;     ///< where the price was read
};

/// A validated cluster: every worker GPU reaches every other one.
struct Cluster {
  std::string name;
  std::string source;  ///< file, or "built-in NAME"
  std::string shape;
  std::vector<GpuModel> gpu_models;
  std::vector<Element> elements;
  std::vector<ClusterLink> links;
  std::vector<std::size_t> worker_gpus;  ///< element index of worker i's GPU
  /// A torus's size along each dimension (its GPUs are elements 0.., the first dimension fastest);
  /// empty for other shapes.
  std::vector<int> torus_dimensions;
  std::optional<ClusterPrice> price;
  /// Bytes per second between workers that share one device, each way: device memory by default.
  /// Processes on one GPU talk through Gloo over the host instead (NCCL refuses two ranks on one
  /// GPU): about 3 GB/s on the shared H100 trace's machine, which `resist calibrate` fits through
  /// sim.bandwidth_scale, a factor on this link as on every other.
  double loopback_bandwidth = 1e12;

  const GpuModel& gpu_model(const Element& gpu) const;
  std::size_t gpu_count() const;
  /// Workers on each element (index as `elements`): two or more time-slice one GPU.
  std::vector<int> workers_on() const;
};

/// GPU models resist knows by name (V100, A100, H100, H200, CPU); cluster files may add more.
const std::vector<GpuModel>& known_gpu_models();

/// Parses and validates a cluster document: schema, shape expansion, references and
/// connectivity. Throws InputError naming `source` and the JSON pointer.
Cluster parse_cluster(nlohmann::json document, const std::string& source);

/// A cluster by reference: a name of a built-in cluster ("h100x8-node"), or a path to a JSON file
/// ("*.json"), relative to `base` (the scenario's folder) unless absolute.
Cluster load_cluster(const std::string& reference, const std::filesystem::path& base);

/// Names of the built-in clusters (the files in scenarios/clusters/).
std::vector<std::string> builtin_cluster_names();

/// Limits of a cluster description: GPUs in all (as many as workers may be), a link's bandwidth
/// (100 TB/s, in bytes per second) and latency (an hour, in seconds).
inline constexpr int kMaxClusterGpus = 65536;
/// Links a shape may generate (a dragonfly's local and global links grow with the square of its
/// routers per group and of its groups).
inline constexpr std::int64_t kMaxGeneratedLinks = 1000000;
inline constexpr double kMaxBandwidth = 1e14;
inline constexpr double kMaxLatency = 3600;

/// Parses "25Gbps", "450GBps", "1.5TBps" into bytes per second; nullopt if malformed (infinity
/// parses: the caller compares with kMaxBandwidth).
std::optional<double> parse_bandwidth(const std::string& text);

/// Parses "5us", "1.2ms", "0s", "300ns" into seconds; nullopt if malformed.
std::optional<double> parse_latency(const std::string& text);

}  // namespace resist
