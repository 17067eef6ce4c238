// The memory-bound part of a compute op: bytes of device memory its iterations read and write.
// The simulator times compute as a roofline, sum of two terms: FLOPs at the device's arithmetic
// rate and these bytes at its memory bandwidth. Convolutions are mostly the first, BatchNorm, ReLU
// and additions the second: a sub-network that keeps a network's large early feature maps (ResIST
// shares the first stages) costs more than its share of the FLOPs.
#pragma once

#include "plan/plan.hpp"

namespace resist {

/// Elements moved per training iteration by the parameters: the forward and backward read the
/// weights and write their gradients (3), the optimizer reads parameter, gradient and momentum and
/// writes parameter and momentum, and the gradients are reset (6).
inline constexpr double kParamTrafficPerIteration = 9;

/// Bytes a compute op of `plan` reads and writes in device memory: for training, each sample's
/// traffic through the worker's blocks (Block::traffic; an IST slice's share of them by FLOPs) and
/// each iteration's parameter traffic; for a layer-parallel AuxNet op, its FLOPs at the network's
/// bytes per FLOP (its layers are convolutions, BatchNorm and ReLU like the blocks'). 0 for
/// communication.
double op_memory_bytes(const Plan& plan, const Round& round, const Op& op);

}  // namespace resist
