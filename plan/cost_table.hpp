// A measured cost table: the seconds one training iteration spends in each block of a network, on
// one machine, for one batch size and dtype. `resist profile` measures and writes it; a scenario
// names it (sim.cost_table) and the simulator then times compute from it instead of from FLOPs, so
// that a sub-network costs what its blocks cost, not its share of the FLOPs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.hpp"

namespace resist {

struct BlockCost {
  std::string id;         ///< the block's id in the model catalogue
  double forward_s = 0;   ///< one batch through the block, training mode
  double backward_s = 0;  ///< its backward (gradients of its parameters and of its input)
};

struct CostTable {
  static constexpr int kVersion = 1;
  static constexpr const char* kFormat = "resist-cost-table";

  std::string source;             ///< the file it was read from ("" when measured here)
  nlohmann::json model;           ///< the scenario's "model" section it was measured for
  int batch_size = 0;
  Dtype dtype = Dtype::fp32;
  std::string memory_format;      ///< the scenario's training.memory_format
  nlohmann::json measured;        ///< where and how: device, threads, LibTorch, date, repetitions
  std::vector<BlockCost> blocks;  ///< the network's blocks, in forward order
  double step_s_per_param = 0;    ///< the optimizer's step, per parameter it updates
  double fixed_s = 0;             ///< per iteration beyond blocks and step: data, loss, gradient reset
  double iteration_s = 0;         ///< the whole network's iteration as measured (blocks + step + fixed)

  /// Seconds of one training iteration of what `a` trains: its blocks' forward and backward (an
  /// IST slice's share of them by FLOPs), the step over its parameters, and the fixed part.
  double iteration_seconds(const Network& net, const Assignment& a) const;
  /// Seconds of a compute op of `plan` (at cost_scale 1): its iterations of its worker's assignment,
  /// or a layer-parallel AuxNet's forward or update, timed from its FLOPs at the rate of the
  /// table's blocks (the table has no AuxNet).
  double op_seconds(const Plan& plan, const Round& round, const Op& op) const;
  /// The part of op_seconds that is the iterations' fixed part (data, loss, gradient reset: the
  /// process's own work, not the device's): fixed_s per iteration of a training op, 0 otherwise.
  double op_fixed_seconds(const Op& op) const;
};

/// Validates a parsed table; InputError naming `source` and the JSON pointer at fault.
CostTable parse_cost_table(const nlohmann::json& doc, const std::string& source);
/// Reads and validates a table file.
CostTable load_cost_table(const std::filesystem::path& file);
nlohmann::json cost_table_to_json(const CostTable& table);

/// InputError naming the table when it was not measured for this plan's model, batch size, dtype
/// and memory format (a table of another network would time the wrong blocks).
void check_cost_table(const CostTable& table, const Plan& plan);

}  // namespace resist
