#include "plan/memory_traffic.hpp"

namespace resist {

double op_memory_bytes(const Plan& plan, const Round& round, const Op& op) {
  if (op.kind != OpKind::compute) return 0;
  const double element = dtype_bytes(plan.dtype);
  const auto w = static_cast<std::size_t>(op.group.front());
  const double aux_params = static_cast<double>(plan.aux_params(w));
  if (op.part != ComputePart::train) {
    const double flops = 3.0 * plan.network.total_forward_flops();
    const double per_flop = flops > 0 ? static_cast<double>(plan.network.total_traffic()) / flops : 0;
    const double params = op.part == ComputePart::aux_update ? aux_params : 0;
    return (op.flops * per_flop + params * kParamTrafficPerIteration) * element;
  }
  const Assignment& a = round.assignments.at(w);
  double traffic = 0;
  for (BlockIndex b : a.blocks) traffic += static_cast<double>(plan.network.blocks.at(b).traffic);
  traffic *= slice_share(plan.network, a);
  const double params = static_cast<double>(a.params) - aux_params;  // the AuxNet's own op steps it
  return (traffic * static_cast<double>(op.samples) + params * kParamTrafficPerIteration * op.iterations) * element;
}

}  // namespace resist
