// Network namespaces in tests: whether they can be made here, joining one from a thread.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <thread>

#include "exec/emulation.hpp"

namespace resist::test {

/// Whether this process may make network namespaces; says once why not (the cases that need them
/// then do nothing).
inline bool can_make_namespaces() {
  static const bool can = [] {
    std::string why;
    const bool ok = exec::can_emulate(why);
    if (!ok) MESSAGE("namespaces cannot be made here, those cases do nothing: " << why);
    return ok;
  }();
  return can;
}

/// Runs `body` on a thread that has joined network namespace `name`.
template <typename Body>
std::thread in_namespace(const std::string& name, Body body) {
  return std::thread([name, body] {
    const int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::setns(fd, CLONE_NEWNET) == 0);
    ::close(fd);
    body();
  });
}

inline bool namespace_exists(const std::string& name) {
  std::istringstream listing(exec::run_command({"ip", "netns", "list"}));
  std::string line;
  while (std::getline(listing, line))
    if (line.substr(0, line.find(' ')) == name) return true;
  return false;
}

}  // namespace resist::test
