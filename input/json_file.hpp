// Reading JSON documents with useful errors, and writing output files atomically.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace resist {

/// Parses text; a syntax error becomes an InputError naming `source`, line and column.
nlohmann::json parse_json_text(std::string_view text, const std::string& source);

/// Reads and parses a file; a missing or unreadable file is an InputError too.
nlohmann::json read_json_file(const std::filesystem::path& file);

/// Writes `content` to a temporary name beside `file`, then renames it over `file`, so that a
/// reader never sees a half-written file. Throws std::runtime_error on failure, leaving nothing.
void write_file_atomically(const std::filesystem::path& file, std::string_view content);

/// A short description of a JSON value for error messages: its type and, if small, the value.
std::string describe_json(const nlohmann::json& value);

}  // namespace resist
