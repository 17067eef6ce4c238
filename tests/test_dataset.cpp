// Data set files: IDX (raw and gzipped) and CIFAR binary batches written here, their errors, and
// Debian's Fashion-MNIST when it is installed.
#include <doctest/doctest.h>

#include <zlib.h>

#include <fstream>

#include "exec/dataset.hpp"
#include "tests/helpers.hpp"

using namespace resist;
using namespace resist::exec;
namespace fs = std::filesystem;

namespace {

fs::path dir() {
  const fs::path d = test::scratch() / "dataset";
  fs::create_directories(d);
  return d;
}

std::vector<std::uint8_t> be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

void write(const fs::path& p, const std::vector<std::uint8_t>& bytes, bool gz) {
  if (gz) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
  }
}

/// Three 2x2 images with pixel values 10*i + k and labels 0, 1, 2.
void write_idx(const fs::path& images, const fs::path& labels, bool gz, std::uint32_t label_count = 3) {
  std::vector<std::uint8_t> im = be32(0x803), lb = be32(0x801);
  for (std::uint32_t v : {3u, 2u, 2u}) for (auto b : be32(v)) im.push_back(b);
  for (auto b : be32(label_count)) lb.push_back(b);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 4; ++k) im.push_back(static_cast<std::uint8_t>(10 * i + k));
    lb.push_back(static_cast<std::uint8_t>(i));
  }
  write(images, im, gz);
  write(labels, lb, gz);
}

std::vector<std::uint8_t> cifar_records(int n, bool cifar100, std::uint8_t label) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < n; ++i) {
    if (cifar100) out.push_back(3);  // coarse label, ignored
    out.push_back(label);
    for (int k = 0; k < 3072; ++k) out.push_back(static_cast<std::uint8_t>(k % 251));
  }
  return out;
}

}  // namespace

TEST_CASE("IDX files, gzipped or not") {
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    write_idx(dir() / "i.idx", dir() / "l.idx", gz);
    const Dataset d = load_idx(dir() / "i.idx", dir() / "l.idx", 10);
    CHECK(d.info.size == 3);
    CHECK(d.info.height == 2);
    CHECK(d.info.channels == 1);
    CHECK(d.pixels.size() == 12);
    CHECK(d.pixels[4 * 2 + 3] == 23);
    CHECK(d.labels == std::vector<std::uint8_t>{0, 1, 2});
  }
}

TEST_CASE("bad IDX files name the file and the fault") {
  const fs::path i = dir() / "i.idx", l = dir() / "l.idx";
  SUBCASE("labels that do not match the images") {
    write_idx(i, l, false, 4);
    CHECK(test::input_error([&] { load_idx(i, l, 10); }) ==
          l.string() + ": expected 3 labels, one per image of i.idx, found 4");
  }
  SUBCASE("a truncated file") {
    write_idx(i, l, true);
    write(i, std::vector<std::uint8_t>{0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2}, false);
    CHECK(test::input_error([&] { load_idx(i, l, 10); }) ==
          i.string() + ": truncated or corrupt: expected 12 bytes of pixels, found 2");
  }
  SUBCASE("swapped files") {
    write_idx(i, l, false);
    CHECK(test::input_error([&] { load_idx(l, i, 10); }) ==
          l.string() + ": expected an IDX image file (magic 0x00000803)");
  }
  SUBCASE("labels beyond the classes") {
    write_idx(i, l, false);
    CHECK(test::input_error([&] { load_idx(i, l, 2); }) ==
          l.string() + ": label 2 of sample 2 is not below the 2 classes");
  }
  SUBCASE("a missing file") {
    CHECK(test::input_error([&] { load_idx(dir() / "none", l, 10); }) ==
          (dir() / "none").string() + ": cannot open file (does it exist?)");
  }
}

TEST_CASE("CIFAR binary batches") {
  write(dir() / "a.bin", cifar_records(2, false, 7), false);
  write(dir() / "b.bin", cifar_records(1, false, 9), false);
  const Dataset d = load_cifar({dir() / "a.bin", dir() / "b.bin"}, false);
  CHECK(d.info.size == 3);
  CHECK(d.labels == std::vector<std::uint8_t>{7, 7, 9});
  CHECK(d.pixels.size() == 3 * 3072);
  CHECK(d.pixels[3072 + 252] == 1);
  write(dir() / "c.bin", cifar_records(2, true, 42), false);
  CHECK(load_cifar({dir() / "c.bin"}, true).labels == std::vector<std::uint8_t>{42, 42});
  SUBCASE("a truncated batch") {
    auto bytes = cifar_records(2, false, 1);
    bytes.pop_back();
    write(dir() / "t.bin", bytes, false);
    CHECK(test::input_error([&] { load_cifar({dir() / "t.bin"}, false); }) ==
          (dir() / "t.bin").string() + ": truncated or corrupt: 6145 bytes is not a whole number of "
                                       "3073-byte CIFAR records");
  }
}

TEST_CASE("scenarios: where the files are, and whether the model fits") {
  SUBCASE("CIFAR needs a folder") {
    const Scenario s = test::scenario({"data.dataset=cifar10"});
    CHECK(test::input_error([&] { probe_dataset(s, true); }) ==
          "<built-in default>: /data/path: dataset \"cifar10\" needs data.path: the folder of its binary files");
  }
  SUBCASE("a model that does not fit the images") {
    const Scenario s = test::scenario({"data.dataset=fashion_mnist"});
    CHECK(test::input_error([&] { check_model_fits(s, {1, 28, 28, 10, 60000}); }) ==
          "<built-in default>: /model/input: dataset fashion_mnist has 1x28x28 images; expected "
          "model.input [1,28,28], found [3,32,32]");
    const Scenario t = test::scenario({"data.dataset=fashion_mnist", "model.input=[1,28,28]"});
    CHECK(test::input_error([&] { check_model_fits(t, {1, 28, 28, 10, 60000}); }) ==
          "<built-in default>: /model/classes: dataset fashion_mnist has 10 classes; expected "
          "model.classes 10, found 100");
  }
  SUBCASE("data.train_samples: at most the set's, all of it when not given") {
    const Scenario given = test::scenario({"data.dataset=fashion_mnist", "model.input=[1,28,28]", "model.classes=10",
                                           "data.train_samples=100"});
    CHECK(training_samples(given, 60000) == 100);
    CHECK(training_samples(test::scenario({"data.dataset=fashion_mnist"}), 500) == 500);
    CHECK(test::input_error([&] { check_model_fits(given, {1, 28, 28, 10, 60}); }) ==
          "<built-in default>: /data/train_samples: expected at most the 60 training samples of fashion_mnist, found 100");
  }
  SUBCASE("CIFAR from a folder") {
    write(dir() / "test_batch.bin", cifar_records(2, false, 1), false);
    for (int i = 1; i <= 5; ++i) write(dir() / ("data_batch_" + std::to_string(i) + ".bin"), cifar_records(1, false, 2), false);
    const Scenario s = test::scenario({"data.dataset=cifar10", "data.path=" + dir().string()});
    CHECK(probe_dataset(s, true).size == 5);
    CHECK(load_dataset(s, false).info.size == 2);
  }
}

TEST_CASE("Debian's Fashion-MNIST") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed; skipped");
    return;
  }
  const Scenario s = test::scenario({"data.dataset=fashion_mnist", "model.input=[1,28,28]", "model.classes=10"});
  const DatasetInfo train = probe_dataset(s, true);
  CHECK(train.size == 60000);
  CHECK(train.height == 28);
  const Dataset test = load_dataset(s, false);
  CHECK(test.info.size == 10000);
  CHECK(test.pixels.size() == 10000u * 28 * 28);
}
