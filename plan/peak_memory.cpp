#include "plan/peak_memory.hpp"

#include <cstdio>

namespace resist {

double peak_rss_mib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib < 0 ? -1 : static_cast<double>(kib) / 1024.0;
}

}  // namespace resist
