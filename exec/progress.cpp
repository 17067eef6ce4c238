#include "exec/progress.hpp"

#include <ctime>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <fmt/format.h>

namespace resist::exec {

std::string progress_line(const ProgressPoint& p) {
  const std::string accuracy = p.accuracy ? fmt::format("  accuracy {:.1f}%", 100 * *p.accuracy) : "";
  return fmt::format("round {}/{}  loss {:.4f}{}  {:.0f} images/s  elapsed {:.0f} s  ETA {:.0f} s", p.round + 1,
                     p.rounds, p.loss, accuracy, p.images_per_s, p.elapsed_s, p.eta_s);
}

void show_progress(const ProgressPoint& p) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const bool last = p.round + 1 >= p.rounds;
  std::fprintf(stderr, tty ? "\r\033[K%s%s" : "%s%s", progress_line(p).c_str(), tty && !last ? "" : "\n");
  std::fflush(stderr);
}

double seconds_since_launch() {
  // /proc/self/stat's 22nd field: the start time in clock ticks since boot (fields after the
  // command name, which may hold spaces, are counted from its closing parenthesis).
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && fields >> field;) ++i;
  unsigned long long ticks = 0;
  if (!(fields >> ticks)) return 0;
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const double started = static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9 - started;
}

}  // namespace resist::exec
