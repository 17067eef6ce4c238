// Running the `resist` binary as a user would, for the tests of its front end.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

inline fs::path scratch() {
  const fs::path dir = fs::temp_directory_path() / "resist-test-cli";
  fs::create_directories(dir);
  return dir;
}

/// Runs a shell command in the scratch folder and captures its exit code and output.
inline Result run_command(const std::string& command) {
  const fs::path dir = scratch();
  const std::string cmd = "cd '" + dir.string() + "' && " + command + " >stdout.txt 2>stderr.txt";
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

inline void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}


}  // namespace resist::test
