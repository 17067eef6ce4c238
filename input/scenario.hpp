// A training scenario: what to train, how, on how many workers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/network.hpp"

namespace resist {

/// Training protocols the plan generator knows.
enum class StrategyKind { data_parallel, local_sgd, resist, ist, layer_parallel };

std::string_view to_string(StrategyKind kind);
std::optional<StrategyKind> parse_strategy(std::string_view name);

/// Collective algorithms a schedule can ask for.
/// How a collective moves its data (the simulator follows it; c10d picks its own in `resist run`).
/// hierarchical_ring: ring reduce-scatter in each node, ring all-reduce of the shards across nodes,
/// ring all-gather in each node; double_tree: two binary trees, each with half the buffer.
enum class Algorithm { none, ring, tree, direct, hierarchical_ring, double_tree };

std::string_view to_string(Algorithm algorithm);
std::optional<Algorithm> parse_algorithm(std::string_view name);

/// Layer-parallel training with AuxNets (strategy.layer_parallel): what the README marks
/// (derived) is a choice of ours, kept a setting.
struct LayerParallelSettings {
  std::vector<std::string> cuts;  ///< ids of the blocks where stages 2..K start; empty: balanced
  std::string balance = "flops";  ///< what balanced cuts balance: "flops" or "cost_table" (sim.cost_table)
  int aux_steps = 1;              ///< AuxNet SGD steps per iteration
  double serial_epochs = 0;       ///< serial training of the composed network afterwards
  std::string method = "penalty";
  double beta = 1;                ///< penalty weight at the start
  double beta_growth = 1;         ///< factor on beta after every epoch
  int aux_width = 32;             ///< channels of the AuxNets' hidden convolutions
  int aux_depth = 1;              ///< non-strided convolutions after the strided ones
  std::optional<double> aux_learning_rate;  ///< absent: training.learning_rate
};

struct StrategySettings {
  StrategyKind kind = StrategyKind::resist;
  int workers = 4;
  int local_iterations = 50;
  int min_depth = 0;
  std::uint64_t seed = 0;
  int warmup_rounds = 0;
  LayerParallelSettings layer_parallel;
};

/// Layout of the executor's 4-D tensors (training.memory_format).
enum class MemoryFormat { automatic, contiguous, channels_last };

struct TrainingSettings {
  int batch_size = 128;  ///< per worker and iteration
  std::optional<double> epochs;
  std::optional<std::uint64_t> rounds;
  Dtype dtype = Dtype::fp32;
  MemoryFormat memory_format = MemoryFormat::automatic;
  bool cuda_graphs = true;  ///< on GPUs: local iterations replay a captured step
  double learning_rate = 0.05;   ///< SGD, at the start of training
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::vector<double> lr_steps;  ///< epochs at which the rate is multiplied by lr_gamma
  double lr_gamma = 0.1;
};

struct CollectiveSettings {
  Algorithm allreduce = Algorithm::ring;
  Algorithm reduce = Algorithm::direct;
  Algorithm broadcast = Algorithm::direct;
};

/// How the simulator models a scenario's cluster (read by sim/ only).
struct SimSettings {
  double efficiency = 0.4;              ///< share of the roofline reached (FLOPs and memory traffic)
  std::string network_model = "CM02";   ///< SimGrid network model
  std::string collectives = "auto";     ///< auto, step or coarse
  int coarse_above = 64;                ///< auto: coarse collectives above this many workers
  /// auto: GPUs that hang on one switch become a SimGrid star zone under a Dijkstra zone of the
  /// switches (routing cost independent of the cluster's size); flat: one Dijkstra zone of all.
  std::string routing = "auto";
  double iteration_overhead_s = 0;      ///< per local iteration, beyond the FLOPs
  double bandwidth_scale = 1;           ///< factor on every link's bandwidth
  /// The share of a cluster link's rate that two or more flows crossing it in one direction get
  /// together (TCP flows through a shallow queue lose some of it to each other's drops); 1: shared
  /// without loss.
  double shared_link_efficiency = 1;
  std::map<std::string, double, std::less<>> op_overhead_s;  ///< per communication op, by kind name
  /// A cost table (`resist profile`) timing compute per block, resolved against the scenario's
  /// folder; empty: compute is timed from FLOPs and `efficiency`.
  std::string cost_table;
  double cost_scale = 1;                ///< factor on the cost table's times

  /// The overhead of one op of this kind ("send", "allreduce", ...; 0 when none is set).
  double op_overhead(std::string_view kind) const {
    const auto it = op_overhead_s.find(kind);
    return it == op_overhead_s.end() ? 0 : it->second;
  }
};

/// The most rounds a training may have (given or derived from epochs): plans and simulations of
/// more are refused, not overflowed.
inline constexpr std::uint64_t kMaxRounds = 1000000000;

/// A validated scenario. `document` keeps the JSON with defaults filled, for echoing into outputs.
struct Scenario {
  std::string source;  ///< file it came from, or "<built-in default>"
  std::string name;
  ModelSpec model;
  std::string dataset;
  std::int64_t train_samples = 0;  ///< 0 when unknown (synthetic data without a size)
  StrategySettings strategy;
  TrainingSettings training;
  CollectiveSettings collectives;
  std::string cluster;  ///< built-in cluster name or path (sim/ resolves it); "" if none
  SimSettings sim;
  nlohmann::json document;

  /// Folder that relative paths in the scenario are resolved against.
  std::filesystem::path folder() const;

  /// Local iterations per synchronisation round (1 for data-parallel and layer-parallel).
  int iterations_per_round() const;
  /// Samples the whole training takes in per round: every worker's batches, or one batch for
  /// layer-parallel (its stages all train on the same batch).
  double samples_per_round() const;
  /// Rounds of the whole training, from training.rounds or training.epochs (layer-parallel: and
  /// its serial correction's).
  std::uint64_t total_rounds() const;
  /// Layer-parallel: rounds of serial correction at the end (0 for other strategies).
  std::uint64_t serial_rounds() const;
  /// Epochs of training done before round `round` starts (0 when the data set size is unknown).
  double epochs_before(std::uint64_t round) const;
  /// The learning rate of round `round`: training.learning_rate times lr_gamma per lr_steps passed.
  double learning_rate(std::uint64_t round) const;
};

/// Validates a parsed document (schema, then cross-field rules) and builds the scenario.
/// Throws InputError naming `source` and the JSON pointer at fault.
Scenario parse_scenario(nlohmann::json document, const std::string& source);

/// Reads, overrides (`--set dotted.path=value`, in order) and validates a scenario file.
Scenario load_scenario(const std::filesystem::path& file,
                       const std::vector<std::string>& overrides = {});

/// The built-in default scenario (the ResIST paper's CIFAR-100 setup), with overrides.
Scenario default_scenario(const std::vector<std::string>& overrides = {});

/// The scenario in `file`, or the built-in default when `file` is empty, or the built-in scenario
/// of that name (scenarios/NAME.json, compiled in) when no such file exists; with overrides.
Scenario scenario_or_default(const std::string& file, const std::vector<std::string>& overrides);

/// The same scenario with another strategy (resist-only settings kept; others ignore them).
Scenario with_strategy(const Scenario& scenario, StrategyKind kind);

/// Applies `dotted.path=value` overrides to a document. A value that parses as JSON is taken as
/// JSON (8, 0.5, true, [1,2]); anything else as a string; null removes the field.
/// Throws InputError("--set", ...).
nlohmann::json apply_overrides(nlohmann::json document, const std::vector<std::string>& overrides);

/// `document` (a scenario of `scenario`'s folder) to be written as `file`: the relative file paths
/// in it (a cluster ending in .json, data.path) rewritten to name the same files from `file`'s folder.
nlohmann::json relocated_document(nlohmann::json document, const Scenario& scenario, const std::filesystem::path& file);

/// The network a scenario trains.
Network scenario_network(const Scenario& scenario);

/// Layer-parallel: the blocks where stages 2..K start, given (strategy.layer_parallel.cuts) or
/// balanced: by training FLOPs, or by the given costs of each block and of the AuxNet feeding each
/// block (infinite where none can) when `block_cost` is not empty. InputError naming the scenario
/// and the field at fault.
std::vector<std::size_t> layer_parallel_cuts(const Scenario& scenario, const Network& net,
                                             const std::vector<double>& block_cost = {},
                                             const std::vector<double>& aux_cost = {});

}  // namespace resist
