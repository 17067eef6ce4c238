// Reading JSON documents with useful errors, and writing output files atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace resist {

/// The largest JSON input file read (1 GiB): larger files are refused before they are read.
inline constexpr std::uint64_t kMaxJsonFileBytes = std::uint64_t{1} << 30;
/// The deepest nesting of arrays and objects accepted: deeper documents are refused while parsing,
/// before anything recursive (copying, comparing) can run out of stack.
inline constexpr int kMaxJsonDepth = 256;

/// Parses text; a syntax error or nesting deeper than kMaxJsonDepth becomes an InputError naming
/// `source`, line and column.
nlohmann::json parse_json_text(std::string_view text, const std::string& source);

/// Reads and parses a file. InputError naming it when it is missing, not a regular file (a
/// directory, FIFO or device is refused before anything is read), larger than kMaxJsonFileBytes,
/// cannot be read (the system's reason), or is not JSON.
nlohmann::json read_json_file(const std::filesystem::path& file);

/// Writes `content` to a temporary name beside `file`, then renames it over `file`, so that a
/// reader never sees a half-written file. Throws std::runtime_error on failure, leaving nothing.
void write_file_atomically(const std::filesystem::path& file, std::string_view content);

/// A short description of a JSON value for error messages: its type and, if small, the value.
std::string describe_json(const nlohmann::json& value);

}  // namespace resist
