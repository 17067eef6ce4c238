// What every fuzz target shares: the input as text, and the rule that bad input may only ever be
// refused with resist's InputError (exit 2 in the front ends). Any other exception escapes the
// target, std::terminate prints it, and libFuzzer reports the input as a crash; so do a signal, a
// sanitizer report, a leak and a timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "input/input_error.hpp"
#include "tests/fuzz/targets.hpp"

namespace resist::fuzz {

/// A broken promise found by a target (not bad input): reported as a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz: %s\n", what);
  std::abort();
}

/// Runs `body` (one input's work); an InputError is the expected answer to bad input. Returns
/// whether the input was accepted.
template <class Body>
bool run(Body&& body) {
  try {
    body();
    return true;
  } catch (const InputError& e) {
    if (e.source().empty() || std::string_view(e.what()).empty()) fail("an InputError without its source");
    return false;
  }
}

}  // namespace resist::fuzz

/// Defines target NAME: `bool resist::fuzz::NAME(std::string_view text)` runs one input (true:
/// accepted; test_fuzz_corpus replays the corpus through it), and in the fuzzing build
/// (RESIST_FUZZ_ENTRY) it is also libFuzzer's entry point.
#ifdef RESIST_FUZZ_ENTRY
#define RESIST_FUZZ_TARGET(NAME)                                                              \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {         \
    resist::fuzz::NAME(std::string_view(reinterpret_cast<const char*>(data), size));          \
    return 0;                                                                                 \
  }                                                                                           \
  bool resist::fuzz::NAME(std::string_view text)
#else
#define RESIST_FUZZ_TARGET(NAME) bool resist::fuzz::NAME(std::string_view text)
#endif
