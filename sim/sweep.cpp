#include "sim/sweep.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "input/scenario.hpp"
#include "sim/sim_text.hpp"
#include "sim/write_fully.hpp"

namespace resist {
namespace {

using nlohmann::json;

constexpr int kVersion = 1;
constexpr const char* kFigures[] = {"gpus", "time_per_round_s", "compute_per_round_s", "exposed_comm_per_round_s",
                                    "payload_gb_per_round", "wire_gb_per_round", "total_time_s",
                                    "speedup_vs_local_sgd", "cost", "currency"};

std::string one_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json axes_json(const std::vector<SweepAxis>& axes) {
  json out = json::array();
  for (const SweepAxis& a : axes) out.push_back({{"path", a.path}, {"values", a.values}});
  return out;
}

/// Point `index`'s settings: {path: value as written}.
json point_settings(const SweepRequest& r, std::uint64_t index) {
  const std::vector<std::string> values = sweep_point_values(r.axes, index);
  json settings = json::object();
  for (std::size_t k = 0; k < r.axes.size(); ++k) settings[r.axes[k].path] = values[k];
  return settings;
}

/// One point simulated as `resist sim --set ...` would: its row, or its error.
json run_point(const SweepRequest& r, std::uint64_t index) {
  const std::vector<std::string> point = sweep_point(r.axes, index);
  json row = {{"point", index}, {"settings", point_settings(r, index)}};
  try {
    std::vector<std::string> sets = r.sets;
    sets.insert(sets.end(), point.begin(), point.end());
    const Scenario s = scenario_or_default(r.scenario_file, sets);
    const Cluster cluster = scenario_cluster(s);
    const std::string name = cluster.name.empty() ? s.cluster : cluster.name;
    const json p = predictions_json(predict_strategies(s, cluster, {}, r.rounds), name)["strategies"][0];
    double time = 0, compute = 0, exposed = 0, payload = 0, wire = 0;
    for (const json& round : p["rounds"]) {
      time += round["time_s"].get<double>();
      compute += round["compute_s"].get<double>();
      exposed += round["exposed_comm_s"].get<double>();
      payload += round["payload_bytes"].get<double>();
      wire += round["wire_bytes"].get<double>();
    }
    const double n = std::max<double>(1, static_cast<double>(p["rounds"].size()));
    row.update({{"strategy", p["name"]}, {"workers", p["workers"]}, {"cluster", name},
                {"total_rounds", p["total_rounds"]}, {"simulated_rounds", p["simulated_rounds"]},
                {"time_per_round_s", time / n}, {"compute_per_round_s", compute / n},
                {"exposed_comm_per_round_s", exposed / n}, {"payload_gb_per_round", payload / n / 1e9},
                {"wire_gb_per_round", wire / n / 1e9}, {"total_time_s", p["total_time_s"]}});
    const int workers = p["workers"].get<int>();
    const std::set<std::size_t> gpus(cluster.worker_gpus.begin(), cluster.worker_gpus.begin() + workers);
    row["gpus"] = gpus.size();
    if (cluster.price) {  // every GPU the workers occupy, for the whole training; every byte on the wire
      const double hours = p["total_time_s"].get<double>() / 3600;
      const double wire_gb = wire / n / 1e9 * p["total_rounds"].get<double>();
      row["cost"] = hours * static_cast<double>(gpus.size()) * cluster.price->gpu_hour + wire_gb * cluster.price->network_gb;
      row["currency"] = cluster.price->currency;
    }
  } catch (const std::exception& e) {
    row["error"] = e.what();
  }
  return row;
}

/// A worker process: takes the next point from the shared counter until none is left, writing
/// {"start": k} and then the row, one line each.
[[noreturn]] void worker(const SweepRequest& r, const std::vector<std::uint64_t>& points,
                         std::atomic<std::uint64_t>& next, int fd) {
  for (;;) {
    const std::uint64_t k = next.fetch_add(1);
    if (k >= points.size()) break;
    if (!sim::write_fully(fd, one_line({{"start", k}}) + "\n") ||
        !sim::write_fully(fd, one_line(run_point(r, points[k])) + "\n"))
      ::_exit(3);  // the parent is gone
  }
  ::close(fd);
  ::_exit(0);
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::string pending;
  std::optional<std::uint64_t> in_flight;
};

/// Runs `points` on `jobs` worker processes; rows by point index.
std::map<std::uint64_t, json> run_pool(const SweepRequest& r, const std::vector<std::uint64_t>& points, int jobs,
                                       const std::function<void(const json&)>& done) {
  void* shared = ::mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw std::runtime_error("sweep: cannot map shared memory");
  auto* next = new (shared) std::atomic<std::uint64_t>(0);
  std::vector<Child> children;
  for (int j = 0; j < jobs; ++j) {
    int fds[2];
    if (::pipe(fds) != 0) break;
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      for (const Child& c : children) ::close(c.fd);
      worker(r, points, *next, fds[1]);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      break;
    }
    children.push_back({pid, fds[0], {}, {}});
  }
  std::map<std::uint64_t, json> rows;
  const auto take = [&](Child& c, const std::string& line) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("start")) {
      c.in_flight = j["start"].get<std::uint64_t>();
    } else if (j.is_object() && j.contains("point")) {
      c.in_flight.reset();
      done(rows[j["point"].get<std::uint64_t>()] = j);
    }
  };
  std::size_t open = children.size();
  while (open > 0) {
    std::vector<pollfd> fds;
    for (const Child& c : children)
      if (c.fd >= 0) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    for (Child& c : children) {
      if (c.fd < 0) continue;
      const auto it = std::find_if(fds.begin(), fds.end(), [&](const pollfd& p) { return p.fd == c.fd; });
      if (it == fds.end() || it->revents == 0) continue;
      char buffer[1 << 16];
      const ssize_t n = ::read(c.fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        c.pending.append(buffer, static_cast<std::size_t>(n));
        for (std::size_t eol; (eol = c.pending.find('\n')) != std::string::npos;) {
          take(c, c.pending.substr(0, eol));
          c.pending.erase(0, eol + 1);
        }
        continue;
      }
      ::close(c.fd);
      c.fd = -1;
      --open;
      int status = 0;
      while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (c.in_flight) {
        const std::uint64_t index = points[*c.in_flight];
        json row = {{"point", index}, {"settings", point_settings(r, index)},
                    {"error", WIFSIGNALED(status)
                                  ? fmt::format("the process simulating this point died (signal {})", WTERMSIG(status))
                                  : std::string("the process simulating this point ended without its result")}};
        done(rows[index] = std::move(row));
      }
    }
  }
  ::munmap(shared, sizeof(std::atomic<std::uint64_t>));
  return rows;
}

/// The document's header: what was swept, nothing of where or when (shards merge to the same).
json header(const SweepRequest& r, std::uint64_t points) {
  json h = {{"format", "resist-sweep"}, {"version", kVersion},
            {"scenario", r.scenario_file.empty() ? "<built-in default>" : r.scenario_file},
            {"sets", r.sets}, {"axes", axes_json(r.axes)}, {"rounds", r.rounds}, {"points", points}};
  if (r.shard.count > 1) h["shard"] = {{"index", r.shard.index}, {"count", r.shard.count}};
  return h;
}

/// Rows in point order, and each one's speedup against the local-SGD row of the same other
/// settings (when strategy.name is varied and local_sgd is among its values).
json finish(json document, std::map<std::uint64_t, json> rows) {
  std::map<std::string, double> local_sgd;  // the other settings -> local SGD's total time
  const auto others = [](const json& row) {
    json s = row["settings"];
    s.erase("strategy.name");
    return s.dump();
  };
  for (const auto& [i, row] : rows)
    if (!row.contains("error") && row["settings"].contains("strategy.name") && row["strategy"] == "local_sgd")
      local_sgd[others(row)] = row["total_time_s"].get<double>();
  json out = json::array();
  for (auto& [i, row] : rows) {
    if (!row.contains("error") && row["settings"].contains("strategy.name")) {
      const auto base = local_sgd.find(others(row));
      if (base != local_sgd.end()) row["speedup_vs_local_sgd"] = base->second / row["total_time_s"].get<double>();
    }
    out.push_back(std::move(row));
  }
  document["rows"] = std::move(out);
  return document;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_value(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_field(v.get<std::string>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return csv_field(one_line(v));
}

}  // namespace

json run_sweep(const SweepRequest& r, const SweepProgress& progress) {
  scenario_or_default(r.scenario_file, r.sets);  // the base itself must load: its error, not a row's
  const std::uint64_t points = sweep_point_count(r.axes);
  const std::vector<std::uint64_t> mine = shard_points(points, r.shard);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs = static_cast<int>(std::min<std::uint64_t>(r.jobs > 0 ? r.jobs : cores, std::max<std::size_t>(1, mine.size())));
  std::uint64_t finished = 0, failed = 0;
  const auto done = [&](const json& row) {
    ++finished;
    failed += row.contains("error");
    if (progress) progress(finished, mine.size(), failed);
  };
  std::map<std::uint64_t, json> rows = run_pool(r, mine, jobs, done);
  for (std::uint64_t index : mine)  // what no worker process reported (none could start, say)
    if (!rows.count(index)) done(rows[index] = run_point(r, index));
  json document = header(r, points);
  if (r.shard.count > 1) {  // speedups need every point: computed when the shards merge
    json out = json::array();
    for (auto& [i, row] : rows) out.push_back(std::move(row));
    document["rows"] = std::move(out);
    return document;
  }
  return finish(std::move(document), std::move(rows));
}

namespace {

[[noreturn]] void expected(const std::string& file, const std::string& at, const std::string& what) {
  throw InputError(file, at, "expected " + what);
}

/// The axes and size a sweep document says it has, their types checked.
SweepRequest request_of(const json& d, const std::string& file) {
  SweepRequest r;
  if (!d.contains("axes") || !d["axes"].is_array() || d["axes"].empty()) expected(file, "/axes", "the varied settings (an array)");
  for (std::size_t k = 0; k < d["axes"].size(); ++k) {
    const json& a = d["axes"][k];
    const std::string at = fmt::format("/axes/{}", k);
    if (!a.is_object() || !a.contains("path") || !a["path"].is_string()) expected(file, at + "/path", "a setting's path");
    if (!a.contains("values") || !a["values"].is_array() || a["values"].empty()) expected(file, at + "/values", "its values");
    SweepAxis axis{a["path"].get<std::string>(), {}};
    for (const json& v : a["values"]) {
      if (!v.is_string()) expected(file, at + "/values", "strings");
      axis.values.push_back(v.get<std::string>());
    }
    r.axes.push_back(std::move(axis));
  }
  std::uint64_t points = 0;
  try {
    points = sweep_point_count(r.axes);
  } catch (const InputError& e) {
    throw InputError(file, "/axes", e.message());
  }
  if (!d.contains("points") || d["points"] != points) expected(file, "/points", fmt::format("{} (the product of the axes' values)", points));
  return r;
}

/// A shard's row checked against what run_point writes for point `p`.
void check_row(const json& row, const SweepRequest& r, std::uint64_t p, const std::string& file, const std::string& at) {
  if (row.value("settings", json()) != point_settings(r, p)) expected(file, at + "/settings", fmt::format("the settings of point {}", p));
  for (const auto& item : row.items()) {
    const std::string& key = item.key();  // (clang 14 cannot capture a structured binding)
    const json& value = item.value();
    bool ok = false;
    if (key == "point" || key == "settings") ok = true;
    else if (key == "error" || key == "strategy" || key == "cluster" || key == "currency") ok = value.is_string();
    else if (key == "workers" || key == "gpus" || key == "total_rounds" || key == "simulated_rounds") ok = value.is_number_unsigned();
    else if (std::find_if(std::begin(kFigures), std::end(kFigures), [&](const char* f) { return key == f; }) != std::end(kFigures))
      ok = value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0;
    if (!ok) expected(file, at + "/" + key, "a field of a sweep's row, of its type");
  }
  const bool failed = row.contains("error");
  for (const char* needed : {"strategy", "workers", "gpus", "cluster", "total_rounds", "simulated_rounds",
                             "time_per_round_s", "compute_per_round_s", "exposed_comm_per_round_s",
                             "payload_gb_per_round", "wire_gb_per_round", "total_time_s"})
    if (!failed && !row.contains(needed)) expected(file, at, fmt::format("\"{}\" in a row without an error", needed));
}

}  // namespace

json merge_sweeps(const std::vector<std::filesystem::path>& folders) {
  if (folders.empty()) throw InputError("--merge", "", "expected the folders of a sweep's shards");
  json first;
  SweepRequest request;
  std::set<std::uint64_t> shards;
  std::map<std::uint64_t, json> rows;
  for (const std::filesystem::path& folder : folders) {
    const std::string file = (folder / "sweep.json").string();
    const json d = read_json_file(file);
    if (!d.is_object() || d.value("format", json()) != "resist-sweep" || d.value("version", json()) != kVersion)
      throw InputError(file, "/format", fmt::format("expected a resist-sweep document of version {}", kVersion));
    const json& shard = d.value("shard", json());
    if (!shard.is_object() || !shard.value("index", json()).is_number_unsigned() ||
        !shard.value("count", json()).is_number_unsigned() || !d.contains("rows") || !d["rows"].is_array())
      throw InputError(file, "/shard", "expected one shard of a sweep (resist sweep --shard i/n)");
    json h = d;
    h.erase("rows");
    h.erase("shard");
    if (first.is_null()) {
      request = request_of(h, file);
      first = h;
    }
    if (h != first)
      throw InputError(file, "", fmt::format("a shard of another sweep than {}: scenario, --set, --vary "
                                             "and --rounds must be the same", (folders.front() / "sweep.json").string()));
    const std::uint64_t index = shard["index"].get<std::uint64_t>();
    const std::uint64_t count = shard["count"].get<std::uint64_t>();
    if (count != folders.size() || index >= count)
      throw InputError(file, "/shard", fmt::format("shard {}/{} of a sweep, but {} folders given", index + 1, count,
                                                   folders.size()));
    if (!shards.insert(index).second) throw InputError(file, "/shard/index", fmt::format("shard {} given twice", index + 1));
    const std::uint64_t points = first["points"].get<std::uint64_t>();
    for (std::size_t k = 0; k < d["rows"].size(); ++k) {
      const json& row = d["rows"][k];
      const std::string at = fmt::format("/rows/{}", k);
      const json point = row.is_object() ? row.value("point", json()) : json();
      if (!point.is_number_unsigned() || point.get<std::uint64_t>() >= points ||
          point.get<std::uint64_t>() % count != index || rows.count(point.get<std::uint64_t>()))
        throw InputError(file, at + "/point", fmt::format("not a point of shard {}/{}, or one given twice", index + 1, count));
      check_row(row, request, point.get<std::uint64_t>(), file, at);
      json& kept = rows[point.get<std::uint64_t>()] = row;
      kept.erase("speedup_vs_local_sgd");  // computed again over all the shards' rows

    }
  }
  const std::uint64_t points = first["points"].get<std::uint64_t>();
  if (rows.size() != points)
    throw InputError((folders.front() / "sweep.json").string(), "/rows",
                     fmt::format("the shards hold {} of the sweep's {} points", rows.size(), points));
  return finish(std::move(first), std::move(rows));
}

std::string sweep_csv(const json& d) {
  std::vector<std::string> paths;
  for (const json& a : d["axes"]) paths.push_back(a["path"].get<std::string>());
  std::string out = "point";
  for (const std::string& p : paths) out += "," + csv_field(p);
  out += ",strategy,workers,cluster,total_rounds,simulated_rounds";
  for (const char* f : kFigures) out += std::string(",") + f;
  out += ",error\n";
  for (const json& row : d["rows"]) {
    out += std::to_string(row["point"].get<std::uint64_t>());
    for (const std::string& p : paths) out += "," + csv_value(row["settings"].value(p, json()));
    for (const char* f : {"strategy", "workers", "cluster", "total_rounds", "simulated_rounds"})
      out += "," + csv_value(row.value(f, json()));
    for (const char* f : kFigures) out += "," + csv_value(row.value(f, json()));
    out += "," + csv_value(row.value("error", json())) + "\n";
  }
  return out;
}

void write_sweep(const std::filesystem::path& folder, const json& document) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (!std::filesystem::is_directory(folder))
    throw InputError(folder.string(), "", "cannot make this folder for the sweep's results" +
                                              (ec ? ": " + ec.message() : std::string()));
  write_file_atomically(folder / "sweep.json", document.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
  write_file_atomically(folder / "sweep.csv", sweep_csv(document));
}

}  // namespace resist
