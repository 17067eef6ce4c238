// Writing a whole text to a pipe from a child process, through interrupting signals.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace resist::sim {

/// Writes all of `text` to `fd`, retrying when a signal handler interrupts; false when the other
/// end is gone or the write fails.
inline bool write_fully(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace resist::sim
