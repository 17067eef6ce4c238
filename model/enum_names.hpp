// One table of names per enum, giving both directions: value to name and name to value.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace resist {

template <typename E, std::size_t N>
class EnumNames {
 public:
  constexpr explicit EnumNames(std::array<std::pair<E, std::string_view>, N> names)
      : names_(names) {}

  constexpr std::string_view name(E value) const {
    for (const auto& [v, n] : names_)
      if (v == value) return n;
    return "unknown";
  }

  constexpr std::optional<E> parse(std::string_view text) const {
    for (const auto& [v, n] : names_)
      if (n == text) return v;
    return std::nullopt;
  }

 private:
  std::array<std::pair<E, std::string_view>, N> names_;
};

}  // namespace resist
