#include "exec/fault.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

namespace resist::exec {

void inject_fault(std::uint64_t round, int self) {
  const char* fault = std::getenv("RESIST_FAULT");
  int rank = -1;
  unsigned long long at = 0;
  char mode[8] = "";
  const int fields = fault ? std::sscanf(fault, "%d:%llu:%7s", &rank, &at, mode) : 0;
  if (fields < 2 || rank != self) return;
  if (std::string_view(mode) == "slow") {  // from that round on, 50 ms more per round
    if (round >= at) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return;
  }
  if (at != round) return;
  if (std::string_view(mode) == "hang") {
    std::fprintf(stderr, "resist-worker %d: RESIST_FAULT: hanging after round %llu\n", self, at);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  std::fprintf(stderr, "resist-worker %d: RESIST_FAULT: dying after round %llu\n", self, at);
  std::_Exit(3);
}

}  // namespace resist::exec
