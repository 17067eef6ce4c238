#include "plan/memory_traffic.hpp"

#include <algorithm>

namespace resist {

double op_memory_bytes(const Plan& plan, const Round& round, const Op& op) {
  if (op.kind != OpKind::compute) return 0;
  const double element = dtype_bytes(plan.dtype);
  const auto w = static_cast<std::size_t>(op.group.front());
  const bool aux = w < plan.stages.size() && plan.stages[w].aux;
  if (op.part != ComputePart::train) {
    double traffic = 0, flops = 0;
    for (const Block& b : plan.network.blocks) {
      traffic += static_cast<double>(b.traffic);
      flops += b.train_flops();
    }
    const double params = aux && op.part == ComputePart::aux_update ? static_cast<double>(plan.stages[w].aux->params) : 0;
    return (flops > 0 ? op.flops * traffic / flops : 0) * element + params * kParamTrafficPerIteration * element;
  }
  const Assignment& a = round.assignments.at(w);
  double traffic = 0, flops = 0;
  for (BlockIndex b : a.blocks) {
    traffic += static_cast<double>(plan.network.blocks.at(b).traffic);
    flops += plan.network.blocks.at(b).train_flops();
  }
  // An IST slice keeps some neurons of each hidden layer: its share of the feature maps is taken
  // as its share of the FLOPs, as for a cost table.
  if (!a.neurons.empty() && flops > 0) traffic *= std::min(1.0, a.flops_per_sample / flops);
  double params = static_cast<double>(a.params);
  if (aux) params -= static_cast<double>(plan.stages[w].aux->params);  // its own op steps it
  return (traffic * static_cast<double>(op.samples) + params * kParamTrafficPerIteration * op.iterations) * element;
}

}  // namespace resist
