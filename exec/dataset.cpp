#include "exec/dataset.hpp"

#include <array>
#include <fstream>

#include <fmt/format.h>
#include <zlib.h>

#include "input/input_error.hpp"

namespace resist::exec {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kIdxImages = 0x00000803, kIdxLabels = 0x00000801;

[[noreturn]] void bad(const fs::path& file, const std::string& what) {
  throw InputError(file.string(), "", what);
}

/// A gzip or plain file read through zlib (gzread passes plain files through unchanged).
class Reader {
 public:
  explicit Reader(const fs::path& file) : file_(file), gz_(gzopen(file.c_str(), "rb")) {
    if (!gz_ || fs::is_directory(file)) bad(file, "cannot open file (does it exist?)");
  }
  ~Reader() {
    if (gz_) gzclose(gz_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// Reads exactly n bytes or reports the file as truncated.
  void read(void* into, std::size_t n, const char* what) {
    const int got = n == 0 ? 0 : gzread(gz_, into, static_cast<unsigned>(n));
    if (got < 0 || static_cast<std::size_t>(got) != n)
      bad(file_, fmt::format("truncated or corrupt: expected {} bytes of {}, found {}", n, what,
                             got < 0 ? 0 : got));
  }

  std::uint32_t big_endian() {
    std::array<std::uint8_t, 4> b{};
    read(b.data(), 4, "header");
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  }

 private:
  fs::path file_;
  gzFile gz_;
};

DatasetInfo idx_header(Reader& images, Reader& labels, const fs::path& ifile, const fs::path& lfile,
                       int classes) {
  if (images.big_endian() != kIdxImages)
    bad(ifile, "expected an IDX image file (magic 0x00000803)");
  DatasetInfo info;
  info.channels = 1;
  info.classes = classes;
  info.size = images.big_endian();
  info.height = static_cast<int>(images.big_endian());
  info.width = static_cast<int>(images.big_endian());
  if (labels.big_endian() != kIdxLabels) bad(lfile, "expected an IDX label file (magic 0x00000801)");
  const std::uint32_t count = labels.big_endian();
  if (count != info.size)
    bad(lfile, fmt::format("expected {} labels, one per image of {}, found {}", info.size,
                           ifile.filename().string(), count));
  return info;
}

void check_labels(const Dataset& d, const fs::path& file) {
  for (std::size_t i = 0; i < d.labels.size(); ++i)
    if (d.labels[i] >= d.info.classes)
      bad(file, fmt::format("label {} of sample {} is not below the {} classes", d.labels[i], i, d.info.classes));
}

/// Number of whole CIFAR records in a file; anything else is reported as truncated or corrupt.
std::size_t cifar_records(const fs::path& file, std::size_t record) {
  std::error_code ec;
  const std::uintmax_t bytes = fs::file_size(file, ec);
  if (ec) bad(file, "cannot open file (does it exist?)");
  if (bytes == 0 || bytes % record != 0)
    bad(file, fmt::format("truncated or corrupt: {} bytes is not a whole number of {}-byte CIFAR "
                          "records", bytes, record));
  return static_cast<std::size_t>(bytes / record);
}

struct Files {
  std::vector<fs::path> paths;
  int classes = 0;
};

fs::path data_folder(const Scenario& s, const std::string& fallback) {
  const std::string path = s.document.at("data").value("path", fallback);
  if (path.empty())
    throw InputError(s.source, "/data/path",
                     fmt::format("dataset \"{}\" needs data.path: the folder of its binary files", s.dataset));
  const fs::path p(path);
  return p.is_absolute() ? p : s.folder() / p;
}

Files files_of(const Scenario& s, bool train) {
  if (s.dataset == "fashion_mnist") {
    const fs::path dir = data_folder(s, "/usr/share/datasets/fashion-mnist");
    const std::string prefix = train ? "train" : "t10k";
    return {{dir / (prefix + "-images-idx3-ubyte.gz"), dir / (prefix + "-labels-idx1-ubyte.gz")}, 10};
  }
  const fs::path dir = data_folder(s, "");
  if (s.dataset == "cifar100") return {{dir / (train ? "train.bin" : "test.bin")}, 100};
  if (!train) return {{dir / "test_batch.bin"}, 10};
  Files f{{}, 10};
  for (int i = 1; i <= 5; ++i) f.paths.push_back(dir / fmt::format("data_batch_{}.bin", i));
  return f;
}

}  // namespace

Dataset load_idx(const fs::path& images, const fs::path& labels, int classes) {
  Reader ir(images), lr(labels);
  Dataset d;
  d.info = idx_header(ir, lr, images, labels, classes);
  d.pixels.resize(d.info.size * static_cast<std::size_t>(d.info.height * d.info.width));
  ir.read(d.pixels.data(), d.pixels.size(), "pixels");
  d.labels.resize(d.info.size);
  lr.read(d.labels.data(), d.labels.size(), "labels");
  check_labels(d, labels);
  return d;
}

Dataset load_cifar(const std::vector<fs::path>& files, bool cifar100) {
  const std::size_t label_bytes = cifar100 ? 2 : 1, pixels = 3 * 32 * 32, record = label_bytes + pixels;
  Dataset d;
  d.info = {3, 32, 32, cifar100 ? 100 : 10, 0};
  for (const fs::path& file : files) {
    const std::uintmax_t bytes = cifar_records(file, record) * record;
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> buffer(static_cast<std::size_t>(bytes));
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(bytes));
    if (!in) bad(file, "cannot read file");
    for (std::size_t at = 0; at < buffer.size(); at += record) {
      d.labels.push_back(buffer[at + label_bytes - 1]);
      d.pixels.insert(d.pixels.end(), buffer.begin() + static_cast<std::ptrdiff_t>(at + label_bytes),
                      buffer.begin() + static_cast<std::ptrdiff_t>(at + record));
    }
    check_labels(d, file);
  }
  d.info.size = d.labels.size();
  return d;
}

Dataset load_dataset(const Scenario& s, bool train) {
  const Files f = files_of(s, train);
  if (s.dataset == "fashion_mnist") return load_idx(f.paths[0], f.paths[1], f.classes);
  if (s.dataset == "cifar10" || s.dataset == "cifar100") return load_cifar(f.paths, s.dataset == "cifar100");
  throw InputError(s.source, "/data/dataset",
                   fmt::format("expected fashion_mnist, cifar10, cifar100 or synthetic for real "
                               "training, found \"{}\"", s.dataset));
}

DatasetInfo probe_dataset(const Scenario& s, bool train) {
  if (s.dataset == "synthetic")
    return {s.model.input[0], s.model.input[1], s.model.input[2], s.model.classes,
            static_cast<std::size_t>(s.train_samples)};
  if (s.dataset == "fashion_mnist") {
    const Files f = files_of(s, train);
    Reader ir(f.paths[0]), lr(f.paths[1]);
    return idx_header(ir, lr, f.paths[0], f.paths[1], f.classes);
  }
  if (s.dataset == "cifar10" || s.dataset == "cifar100") {
    const Files f = files_of(s, train);
    DatasetInfo info{3, 32, 32, f.classes, 0};
    const std::size_t record = (s.dataset == "cifar100" ? 2 : 1) + 3 * 32 * 32;
    for (const fs::path& file : f.paths) info.size += cifar_records(file, record);
    return info;
  }
  return load_dataset(s, train).info;  // reports the unsupported data set
}

std::size_t training_samples(const Scenario& s, std::size_t available) {
  if (s.dataset == "synthetic" || !s.document.contains("data") || !s.document["data"].contains("train_samples"))
    return available;
  const auto wanted = static_cast<std::size_t>(s.train_samples);
  if (wanted > available)
    throw InputError(s.source, "/data/train_samples",
                     fmt::format("expected at most the {} training samples of {}, found {}", available, s.dataset, wanted));
  return wanted;
}

void check_model_fits(const Scenario& s, const DatasetInfo& d) {
  const auto& in = s.model.input;
  if (in[0] != d.channels || in[1] != d.height || in[2] != d.width)
    throw InputError(s.source, "/model/input",
                     fmt::format("dataset {} has {}x{}x{} images; expected model.input [{},{},{}], "
                                 "found [{},{},{}]", s.dataset, d.channels, d.height, d.width,
                                 d.channels, d.height, d.width, in[0], in[1], in[2]));
  if (s.model.classes != d.classes)
    throw InputError(s.source, "/model/classes",
                     fmt::format("dataset {} has {} classes; expected model.classes {}, found {}",
                                 s.dataset, d.classes, d.classes, s.model.classes));
  (void)training_samples(s, d.size);
}

}  // namespace resist::exec
