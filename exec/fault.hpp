// Faults injected on purpose, for the tests of how a job stops when one worker dies or hangs.
// No LibTorch here.
#pragma once

#include <cstdint>

namespace resist::exec {

/// RESIST_FAULT=RANK:ROUND makes that worker exit (status 3) after that round;
/// RESIST_FAULT=RANK:ROUND:hang makes it hang there; RESIST_FAULT=RANK:ROUND:slow makes it
/// spend 50 ms more on that round and every one after it. Does nothing otherwise.
void inject_fault(std::uint64_t round, int self);

}  // namespace resist::exec
