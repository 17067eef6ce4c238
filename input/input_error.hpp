// The one error type for bad user input: names the file, the place in it, and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace resist {

/// Bad input from a user-supplied file or argument. Front ends print what() and exit with 2.
class InputError : public std::runtime_error {
 public:
  /// `source` is a file name or "--set"; `pointer` a JSON pointer ("" for the whole document).
  InputError(std::string source, std::string pointer, std::string message);

  const std::string& source() const { return source_; }
  const std::string& pointer() const { return pointer_; }
  const std::string& message() const { return message_; }

 private:
  std::string source_;
  std::string pointer_;
  std::string message_;
};

/// Exit code of every front end for bad input.
inline constexpr int kExitBadInput = 2;

}  // namespace resist
