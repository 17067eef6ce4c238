// Running the `resist` binary as a user would, for the tests of its front end.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/helpers.hpp"

namespace resist::test {

namespace fs = std::filesystem;


struct Result {
  int code;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs a shell command in the scratch folder and captures its exit code and output.
inline Result run_command(const std::string& command) {
  const fs::path dir = scratch();
  const std::string cmd = "cd '" + dir.string() + "' && { " + command + "; } >stdout.txt 2>stderr.txt";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "stdout.txt"),
          slurp(dir / "stderr.txt")};
}

/// Runs `resist ARGS` in the scratch folder and captures its exit code and output.
inline Result run_resist(const std::string& args) {
  const char* bin = std::getenv("RESIST_BIN");
  REQUIRE(bin != nullptr);
  return run_command("'" + std::string(bin) + "' " + args);
}

/// `resist run` settings for a narrow, shallow pre-activation ResNet on synthetic 8x8 images:
/// a real training run in well under a second per round (rounds are the caller's).
inline const std::string kTinyRun =
    " --set model.arch=preact_resnet18 --set model.width=0.125 --set model.depths=[1,1,3,1]"
    " --set model.input=[3,8,8] --set model.classes=4 --set strategy.local_iterations=4"
    " --set data.dataset=synthetic --set training.batch_size=16 --set training.epochs=null";

/// Whether Debian's dataset-fashion-mnist is installed (tests of real training on it skip without).
inline void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}


}  // namespace resist::test
