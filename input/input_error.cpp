#include "input/input_error.hpp"

namespace resist {
namespace {

std::string compose(const std::string& source, const std::string& pointer,
                    const std::string& message) {
  std::string out = source;
  if (!pointer.empty()) out += (out.empty() ? "" : ": ") + pointer;
  return out + (out.empty() ? "" : ": ") + message;
}

}  // namespace

InputError::InputError(std::string source, std::string pointer, std::string message)
    : std::runtime_error(compose(source, pointer, message)),
      source_(std::move(source)),
      pointer_(std::move(pointer)),
      message_(std::move(message)) {}

}  // namespace resist
