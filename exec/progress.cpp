#include "exec/progress.hpp"

#include <cstdio>

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

}  // namespace resist::exec
