#include "input/sweep_spec.hpp"

#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "input/input_error.hpp"

namespace resist {
namespace {

constexpr std::size_t kMaxRangeValues = 10000;

[[noreturn]] void bad(const std::string& argument, const std::string& what) {
  throw InputError("--vary", "", fmt::format("\"{}\": {}", argument, what));
}

/// Splits on commas outside brackets, braces and double quotes.
std::vector<std::string> split_values(const std::string& argument, const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\' && i + 1 < text.size()) current += text[i++];
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth < 0) bad(argument, fmt::format("unbalanced '{}' at character {}", c, i + 1));
    } else if (c == ',' && depth == 0) {
      out.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (quoted || depth != 0) bad(argument, "unbalanced brackets or quotes in the values");
  out.push_back(current);
  for (const std::string& v : out)
    if (v.empty()) bad(argument, "an empty value (two commas, or one at an end)");
  return out;
}

bool number(const std::string& text, double& v) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(v);
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

/// `a..b+s` or `a..bxk` expanded; anything else is one value as written.
void expand(const std::string& argument, const std::string& value, std::vector<std::string>& out) {
  const std::size_t dots = value.find("..");
  if (dots == std::string::npos || value.front() == '"' || value.front() == '[' || value.front() == '{') {
    out.push_back(value);
    return;
  }
  const std::string rest = value.substr(dots + 2);
  const std::size_t op = rest.find_first_of("+x");
  double a = 0, b = 0, s = 0;
  if (op == std::string::npos || !number(value.substr(0, dots), a) || !number(rest.substr(0, op), b) ||
      !number(rest.substr(op + 1), s))
    bad(argument, fmt::format("\"{}\": expected a range a..b+step or a..bxfactor of numbers", value));
  const bool geometric = rest[op] == 'x';
  if (b < a) bad(argument, fmt::format("\"{}\": the range ends before it starts", value));
  if (geometric ? !(s > 1) : !(s > 0))
    bad(argument, fmt::format("\"{}\": expected a {} above {}", value, geometric ? "factor" : "step",
                              geometric ? 1 : 0));
  if (geometric && !(a > 0)) bad(argument, fmt::format("\"{}\": a geometric range starts above 0", value));
  const double tolerance = 1e-9 * std::max(1.0, std::fabs(b));
  for (std::size_t i = 0;; ++i) {
    const double v = geometric ? a * std::pow(s, static_cast<double>(i)) : a + s * static_cast<double>(i);
    if (v > b + tolerance) break;
    if (i >= kMaxRangeValues)
      bad(argument, fmt::format("\"{}\": more than {} values", value, kMaxRangeValues));
    out.push_back(format_number(v));
  }
}

}  // namespace

SweepAxis parse_sweep_axis(const std::string& argument) {
  const std::size_t eq = argument.find('=');
  if (eq == std::string::npos || eq == 0)
    bad(argument, "expected path=value,value,... (e.g. strategy.workers=2..64x2)");
  SweepAxis axis{argument.substr(0, eq), {}};
  for (const std::string& v : split_values(argument, argument.substr(eq + 1))) expand(argument, v, axis.values);
  std::set<std::string> seen;
  for (const std::string& v : axis.values)
    if (!seen.insert(v).second) bad(argument, fmt::format("the value {} twice", v));
  return axis;
}

SweepShard parse_sweep_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  std::uint64_t i = 0, n = 0;
  const auto whole = [](const std::string& s, std::uint64_t& v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size();
  };
  if (slash == std::string::npos || !whole(text.substr(0, slash), i) || !whole(text.substr(slash + 1), n) ||
      n == 0 || i == 0 || i > n)
    throw InputError("--shard", "", fmt::format("\"{}\": expected i/n with 1 <= i <= n (e.g. 2/3)", text));
  return {i - 1, n};
}

std::uint64_t sweep_point_count(const std::vector<SweepAxis>& axes) {
  std::uint64_t n = 1;
  for (const SweepAxis& a : axes) {
    n *= a.values.size();  // each axis has at most kMaxRangeValues values: no overflow before the check
    if (n > kMaxSweepPoints)
      throw InputError("--vary", "", fmt::format("more than {} points in the sweep (the product of "
                                                 "the values of every --vary)", kMaxSweepPoints));
  }
  return n;
}

std::vector<std::string> sweep_point_values(const std::vector<SweepAxis>& axes, std::uint64_t index) {
  std::vector<std::string> values(axes.size());
  for (std::size_t k = axes.size(); k-- > 0;) {
    const std::uint64_t n = axes[k].values.size();
    values[k] = axes[k].values[index % n];
    index /= n;
  }
  return values;
}

std::vector<std::string> sweep_point(const std::vector<SweepAxis>& axes, std::uint64_t index) {
  std::vector<std::string> sets = sweep_point_values(axes, index);
  for (std::size_t k = 0; k < axes.size(); ++k) sets[k] = axes[k].path + "=" + sets[k];
  return sets;
}

std::vector<std::uint64_t> shard_points(std::uint64_t points, const SweepShard& shard) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = shard.index; i < points; i += shard.count) out.push_back(i);
  return out;
}

}  // namespace resist
