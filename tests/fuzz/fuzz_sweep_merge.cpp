// Fuzz target: the documents of a sweep's shards (DIR/sweep.json of `resist sweep --shard i/n`),
// one after another in the input, separated by a line "--- shard ---" (at most 4), merged as
// `resist sweep --merge DIR1 DIR2 ...` does. What the merge accepts must be a whole sweep: every
// point once, in order, each row with its figures or its error; and it must write as CSV.
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "fuzz_target.hpp"
#include "sim/sweep.hpp"

namespace {

constexpr std::string_view kSeparator = "\n--- shard ---\n";
constexpr std::size_t kMaxShards = 4;

/// A folder of this process's own, removed at exit: shard k goes to DIR/k/sweep.json.
const std::filesystem::path& folder() {
  static const struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() / fmt::format("resist-fuzz-sweep-{}", ::getpid());
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } f;
  return f.path;
}

}  // namespace

RESIST_FUZZ_TARGET(sweep_merge) {
  std::vector<std::filesystem::path> shards;
  for (std::string_view rest = text; shards.size() < kMaxShards;) {
    const std::size_t cut = rest.find(kSeparator);
    const std::filesystem::path dir = folder() / std::to_string(shards.size());
    std::filesystem::create_directories(dir);
    std::ofstream out(dir / "sweep.json", std::ios::binary | std::ios::trunc);
    const std::string_view part = rest.substr(0, cut);
    out.write(part.data(), static_cast<std::streamsize>(part.size()));
    shards.push_back(dir);
    if (cut == std::string_view::npos) break;
    rest.remove_prefix(cut + kSeparator.size());
  }
  return run([&] {
    const nlohmann::json merged = resist::merge_sweeps(shards);
    const nlohmann::json& rows = merged.at("rows");
    if (!rows.is_array() || rows.size() != merged.at("points").get<std::uint64_t>())
      resist::fuzz::fail("an accepted merge does not hold every point");
    for (std::size_t k = 0; k < rows.size(); ++k) {
      if (rows[k].at("point").get<std::uint64_t>() != k) resist::fuzz::fail("an accepted merge's rows are out of order");
      if (!rows[k].contains("error") && !rows[k].contains("total_time_s"))
        resist::fuzz::fail("an accepted row has neither figures nor an error");
    }
    if (merged.contains("shard")) resist::fuzz::fail("a merged sweep still names a shard");
    (void)resist::sweep_csv(merged);
  });
}
