// Reading JSON input files: only regular files, of bounded size and nesting depth; a read error is
// not called malformed JSON. Every refusal is an InputError naming the file.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "input/json_file.hpp"
#include "tests/cli_helpers.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using namespace resist::test;

namespace {

std::string read_error(const fs::path& file) {
  return test::input_error([&] { read_json_file(file); });
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("a regular JSON file reads") {
  write(scratch() / "ok.json", R"({"a": [1, 2, {"b": null}]})");
  CHECK(read_json_file(scratch() / "ok.json")["a"][2].contains("b"));
}

TEST_CASE("what is not a regular file is refused before anything is read") {
  CHECK(read_error("/dev/zero") == "/dev/zero: expected a JSON file, found a character device");
  CHECK(read_error("/dev/urandom") == "/dev/urandom: expected a JSON file, found a character device");
  const fs::path fifo = scratch() / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_error(fifo) == fifo.string() + ": expected a JSON file, found a FIFO");  // no writer: no hang
  CHECK(read_error(scratch()) == scratch().string() + ": expected a JSON file, found a directory");
  CHECK(read_error(scratch() / "missing.json") == (scratch() / "missing.json").string() + ": cannot open file (does it exist?)");
}

TEST_CASE("a file above the size limit is refused without reading it") {
  const fs::path big = scratch() / "big.json";
  std::ofstream(big).close();
  fs::resize_file(big, kMaxJsonFileBytes + 1);  // sparse: nothing is written
  CHECK(read_error(big) == big.string() + ": 1073741825 bytes, above the limit of 1073741824 bytes (1 GiB) for a JSON input file");
}

TEST_CASE("nesting is bounded: deeper documents are refused, not a stack overflow") {
  write(scratch() / "deep-ok.json", nested(kMaxJsonDepth));
  CHECK_NOTHROW(read_json_file(scratch() / "deep-ok.json"));
  write(scratch() / "deep.json", nested(100000));
  CHECK(read_error(scratch() / "deep.json") ==
        (scratch() / "deep.json").string() + ": nested deeper than the limit of 256 levels at line 1, column 257");
  CHECK(test::input_error([] { parse_json_text(nested(kMaxJsonDepth + 1), "text"); }) ==
        "text: nested deeper than the limit of 256 levels at line 1, column 257");
}

TEST_CASE("a file that cannot be read is a read error, not malformed JSON") {
  // /proc/self/mem is a regular file whose first bytes cannot be read (EIO).
  CHECK(read_error("/proc/self/mem") == "/proc/self/mem: cannot read: Input/output error");
}

TEST_CASE("a number beyond a double's range is malformed JSON, said so") {
  CHECK(test::input_error([] { parse_json_text(R"({"ts": 1e309})", "t.json"); }) ==
        "t.json: malformed JSON: number overflow parsing '1e309'");
}
