// What a sweep varies (`resist sweep --vary path=v1,v2 --vary path=a..b+s`): its axes, the cross
// product of their values as points, and the share of the points one shard runs. No SimGrid here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace resist {

/// One varied scenario field and its values, each written as --set takes it (JSON, or text).
struct SweepAxis {
  std::string path;                 ///< dotted, as --set: "strategy.workers"
  std::vector<std::string> values;  ///< in the order given
};

/// The most points one sweep may have.
inline constexpr std::uint64_t kMaxSweepPoints = 100000;

/// Parses one --vary argument: `path=v1,v2,...` (commas inside [] {} or quotes do not split),
/// where a value may be a range: `a..b+s` (a, a+s, ... up to b) or `a..bxk` (a, a*k, ... up to
/// b; k > 1). Throws InputError("--vary", ...) naming the argument and what was expected.
SweepAxis parse_sweep_axis(const std::string& argument);

/// Which part of a sweep this run computes: points i, i+n, i+2n, ... (0-based i < n).
struct SweepShard {
  std::uint64_t index = 0;
  std::uint64_t count = 1;
};

/// Parses --shard "i/n" (1-based i, as Slurm array tasks count: 1/3, 2/3, 3/3).
SweepShard parse_sweep_shard(const std::string& text);

/// The number of points of the axes' cross product; InputError above kMaxSweepPoints.
std::uint64_t sweep_point_count(const std::vector<SweepAxis>& axes);

/// Point `index`'s value on each axis (the first axis varies slowest).
std::vector<std::string> sweep_point_values(const std::vector<SweepAxis>& axes, std::uint64_t index);

/// Point `index`'s settings, one "path=value" per axis, as --set takes them.
std::vector<std::string> sweep_point(const std::vector<SweepAxis>& axes, std::uint64_t index);

/// The indices of the points `shard` computes, ascending.
std::vector<std::uint64_t> shard_points(std::uint64_t points, const SweepShard& shard);

}  // namespace resist
