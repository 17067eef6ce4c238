// Small helpers the tests share.
#pragma once

#include <doctest/doctest.h>
#include <errno.h>
#include <unistd.h>

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

/// The test program's own scratch folder (Meson runs suites in parallel, so each process needs
/// its own: a shared one let one suite read another's captured output). Removed at exit.
inline std::filesystem::path scratch() {
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                    ("resist-test-" + std::string(program_invocation_short_name) + "-" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

/// Whether Debian's dataset-fashion-mnist is installed (a MESSAGE says the test skips if not).
inline bool have_fashion_mnist() {
  if (std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) return true;
  MESSAGE("dataset-fashion-mnist is not installed; skipped");
  return false;
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
