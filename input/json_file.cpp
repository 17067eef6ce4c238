#include "input/json_file.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>

#include "input/input_error.hpp"

namespace resist {
namespace {

/// Line and column (1-based) of a byte offset.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

/// nlohmann's message without its "[json.exception.parse_error.101] parse error at ...:" prefix.
std::string parse_reason(const std::string& what) {
  const auto colon = what.find(": ", what.find("parse error"));
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports the byte after the offending one; point at the offending one.
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    throw InputError(source, "",
                     fmt::format("malformed JSON at line {}, column {}: {}", line, column,
                                 parse_reason(e.what())));
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw InputError(file.string(), "", "expected a JSON file, found a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string(), "", "cannot open file (does it exist?)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_text(text.str(), file.string());
}

void write_file_atomically(const std::filesystem::path& file, std::string_view content) {
  const std::filesystem::path tmp =
      file.parent_path() / fmt::format(".{}.{}.tmp", file.filename().string(), ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write file", file.string()));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(tmp);
      throw std::runtime_error(fmt::format("{}: write failed (disk full?)", file.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error(fmt::format("{}: cannot rename into place: {}", file.string(),
                                         ec.message()));
  }
}

std::string describe_json(const nlohmann::json& value) {
  std::string dumped = value.dump();
  if (dumped.size() > 40) dumped = dumped.substr(0, 37) + "...";
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return fmt::format("an array of {}", value.size());
    case nlohmann::json::value_t::string: return fmt::format("a string ({})", dumped);
    case nlohmann::json::value_t::boolean: return fmt::format("a boolean ({})", dumped);
    case nlohmann::json::value_t::number_float: return fmt::format("a number ({})", dumped);
    default: return fmt::format("an integer ({})", dumped);
  }
}

}  // namespace resist
