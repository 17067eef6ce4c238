// Small helpers the tests share.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "plan/generator.hpp"
#include "input/input_error.hpp"

namespace resist::test {

/// The repository root (set by Meson for every test).
inline std::filesystem::path source_root() {
  const char* root = std::getenv("RESIST_SOURCE_ROOT");
  return root ? root : ".";
}

/// The default scenario with overrides, for compact test set-ups.
inline Scenario scenario(const std::vector<std::string>& sets) { return default_scenario(sets); }

/// The message of the InputError `f` throws, or "" if it throws none.
template <typename F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace resist::test
