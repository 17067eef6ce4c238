#include "input/json_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

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

/// Where `text` first opens a kMaxJsonDepth + 1-th level of arrays or objects (outside strings), or
/// npos. A deeper document is refused before parsing: copying or comparing it would recurse past
/// the stack.
std::size_t too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '[' || text[i] == '{') {
      if (++depth > static_cast<std::size_t>(kMaxJsonDepth)) return i;
    } else if (text[i] == ']' || text[i] == '}') {
      depth -= depth > 0 ? 1 : 0;
    } else if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    }
  }
  return std::string_view::npos;
}

nlohmann::json parse_json_text(std::string_view text, const std::string& source) {
  if (const std::size_t at = too_deep_at(text); at != std::string_view::npos) {
    const auto [line, column] = line_column(text, at);
    throw InputError(source, "", fmt::format("nested deeper than the limit of {} levels at line {}, column {}",
                                             kMaxJsonDepth, line, column));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports the byte after the offending one; point at the offending one.
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    throw InputError(source, "",
                     fmt::format("malformed JSON at line {}, column {}: {}", line, column,
                                 parse_reason(e.what())));
  } catch (const nlohmann::json::out_of_range& e) {  // a number too large for a double, say
    const std::string what = e.what();
    throw InputError(source, "", fmt::format("malformed JSON: {}", what.substr(what.find("] ") + 2)));
  }
}

namespace {

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// The whole of a regular file of at most kMaxJsonFileBytes.
std::string read_bounded(const std::filesystem::path& file) {
  // O_NONBLOCK: opening a FIFO without a writer returns at once (it is refused below).
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw InputError(file.string(), "", errno == ENOENT ? std::string("cannot open file (does it exist?)")
                                                        : fmt::format("cannot open file: {}", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(file.string(), "", fmt::format("cannot read: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw InputError(file.string(), "", "expected a JSON file, found " + file_kind(st.st_mode));
  const auto too_big = [&](std::uint64_t bytes) {
    return InputError(file.string(), "", fmt::format("{} bytes, above the limit of {} bytes (1 GiB) for a JSON input file",
                                                     bytes, kMaxJsonFileBytes));
  };
  if (static_cast<std::uint64_t>(st.st_size) > kMaxJsonFileBytes) throw too_big(static_cast<std::uint64_t>(st.st_size));
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t used = 0;
  for (;;) {  // the size may change while reading: read to the end, within the limit
    if (used == text.size()) text.resize(std::min<std::size_t>(kMaxJsonFileBytes + 1, std::max<std::size_t>(4096, 2 * used)));
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(file.string(), "", fmt::format("cannot read: {}", std::strerror(errno)));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
    if (used > kMaxJsonFileBytes) throw too_big(used);
  }
  text.resize(used);
  return text;
}

}  // namespace

nlohmann::json read_json_file(const std::filesystem::path& file) {
  return parse_json_text(read_bounded(file), file.string());
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
