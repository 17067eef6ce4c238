// A cost table made up for a plan's network, for tests of what the simulator and calibration do
// with one (measured ones come from `resist profile`).
#pragma once

#include "plan/cost_table.hpp"

namespace resist::test {

/// Block i takes (i + 1) ms forward and twice that backward; 1 ns per parameter stepped; 10 ms
/// fixed; measured for the plan's model, batch, dtype and memory format.
inline CostTable made_up_table(const Plan& plan) {
  CostTable t;
  t.model = plan.scenario.at("model");
  t.batch_size = plan.batch_size;
  t.dtype = plan.dtype;
  t.memory_format = plan.scenario.at("training").at("memory_format").get<std::string>();
  for (std::size_t i = 0; i < plan.network.blocks.size(); ++i)
    t.blocks.push_back({plan.network.blocks[i].id, 1e-3 * static_cast<double>(i + 1), 2e-3 * static_cast<double>(i + 1)});
  t.step_s_per_param = 1e-9;
  t.fixed_s = 0.01;
  t.iteration_s = t.fixed_s;
  for (const BlockCost& b : t.blocks) t.iteration_s += b.forward_s + b.backward_s;
  return t;
}

}  // namespace resist::test
