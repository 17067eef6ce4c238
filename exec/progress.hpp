// The progress line worker 0 shows on standard error: one line per round, redrawn in place on a
// terminal. No LibTorch here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace resist::exec {

struct ProgressPoint {
  std::uint64_t round = 0;          ///< 0-based round just finished
  std::uint64_t rounds = 0;         ///< rounds this run trains
  double loss = 0;
  std::optional<double> accuracy;   ///< when the global model was evaluated after the round
  double images_per_s = 0;          ///< all workers together, since the run started
  double elapsed_s = 0;
  double eta_s = 0;
};

/// "round 3/20  loss 1.2345  accuracy 81.0%  1234 images/s  elapsed 12 s  ETA 68 s".
std::string progress_line(const ProgressPoint& p);

/// Shows the line: redrawn in place on a terminal (a newline after the last round), one line per
/// round otherwise.
void show_progress(const ProgressPoint& p);

/// Seconds since this process started (the kernel's start time of it: loading shared libraries,
/// LibTorch's among them, counts).
double seconds_since_launch();

}  // namespace resist::exec
