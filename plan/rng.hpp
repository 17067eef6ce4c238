// A small, fully specified random generator, so plans are identical on every platform.
#pragma once

#include <cstdint>
#include <vector>

namespace resist {

/// splitmix64 stream. std::shuffle and the standard distributions are implementation-defined,
/// which would make plans differ between standard libraries; this does not.
class Rng {
 public:
  /// A stream for one purpose: derived from the user's seed, a round and a salt.
  Rng(std::uint64_t seed, std::uint64_t round, std::uint64_t salt);

  std::uint64_t next();
  /// Uniform in [0, n), without modulo bias. n must be positive.
  std::uint64_t below(std::uint64_t n);
  /// A uniformly random permutation of 0..n-1 (Fisher-Yates).
  std::vector<std::uint32_t> permutation(std::uint32_t n);

 private:
  std::uint64_t state_;
};

}  // namespace resist
