#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "topology/cluster.hpp"

namespace resist {
namespace {

/// Splits "12.5GBps" into 12.5 and "GBps"; nullopt without a leading non-negative number.
std::optional<std::pair<double, std::string>> number_and_unit(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin || std::isnan(value) || value < 0 || std::isspace(static_cast<unsigned char>(*begin)))
    return std::nullopt;
  return std::make_pair(value, std::string(end));
}

std::optional<double> scaled(const std::string& text,
                             const std::vector<std::pair<std::string_view, double>>& units) {
  const auto parsed = number_and_unit(text);
  if (!parsed) return std::nullopt;
  for (const auto& [unit, factor] : units)
    if (parsed->second == unit) return parsed->first * factor;
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_bandwidth(const std::string& text) {
  static const std::vector<std::pair<std::string_view, double>> kUnits = {
      {"bps", 1.0 / 8},  {"kbps", 1e3 / 8}, {"Mbps", 1e6 / 8}, {"Gbps", 1e9 / 8},
      {"Tbps", 1e12 / 8}, {"Bps", 1.0},     {"kBps", 1e3},     {"MBps", 1e6},
      {"GBps", 1e9},     {"TBps", 1e12}};
  const auto v = scaled(text, kUnits);
  return v && *v > 0 ? v : std::nullopt;
}

std::optional<double> parse_latency(const std::string& text) {
  static const std::vector<std::pair<std::string_view, double>> kUnits = {
      {"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}};
  return scaled(text, kUnits);
}

}  // namespace resist
