#include "exec/worker_contract.hpp"

#include <fmt/format.h>

#include "input/input_error.hpp"

namespace resist::exec {

using nlohmann::json;

namespace {

/// Reads `j`'s fields into a struct, naming the document and field of anything wrong.
class Fields {
 public:
  Fields(const json& j, const std::string& source, const char* what, int version) : j_(j), source_(source) {
    if (!j.is_object()) throw InputError(source, "", fmt::format("expected a {} (a JSON object)", what));
    if (j.value("version", 0) != version)
      throw InputError(source, "/version", fmt::format("expected a {} of version {}, found {}", what, version,
                                                       j.contains("version") ? j["version"].dump() : "none"));
  }

  template <class T>
  void get(const char* key, T& out) const {
    if (!j_.contains(key)) throw InputError(source_, std::string("/") + key, "missing");
    try {
      out = j_.at(key).get<T>();
    } catch (const json::exception& e) {
      throw InputError(source_, std::string("/") + key, fmt::format("unexpected value {}", j_.at(key).dump()));
    }
  }

  const json& at(const char* key) const {
    if (!j_.contains(key)) throw InputError(source_, std::string("/") + key, "missing");
    return j_.at(key);
  }

 private:
  const json& j_;
  const std::string& source_;
};

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(); }

}  // namespace

json to_json(const WorkerOptions& o) {
  return {{"version", WorkerOptions::kVersion}, {"scenario", o.scenario}, {"sets", o.sets},
          {"rank", o.rank}, {"world", o.world}, {"local_rank", o.local_rank},
          {"master_addr", o.master_addr}, {"master_port", o.master_port}, {"t0", o.t0},
          {"threads", o.threads}, {"rounds", o.rounds ? json(*o.rounds) : json()},
          {"timeout_s", o.timeout_s}, {"checkpoint_dir", o.checkpoint_dir}, {"resume", o.resume},
          {"progress", o.progress}, {"eval_every", o.eval_every}, {"backend", o.backend},
          {"device", o.device}, {"bind_host", o.bind_host}, {"gather_reports", o.gather_reports}};
}

WorkerOptions worker_options_from_json(const json& j, const std::string& source) {
  const Fields f(j, source, "worker options document", WorkerOptions::kVersion);
  WorkerOptions o;
  f.get("scenario", o.scenario);
  f.get("sets", o.sets);
  f.get("rank", o.rank);
  f.get("world", o.world);
  f.get("local_rank", o.local_rank);
  f.get("master_addr", o.master_addr);
  f.get("master_port", o.master_port);
  f.get("t0", o.t0);
  f.get("threads", o.threads);
  if (!f.at("rounds").is_null()) o.rounds = f.at("rounds").get<std::uint64_t>();
  f.get("timeout_s", o.timeout_s);
  f.get("checkpoint_dir", o.checkpoint_dir);
  f.get("resume", o.resume);
  f.get("progress", o.progress);
  f.get("eval_every", o.eval_every);
  f.get("backend", o.backend);
  f.get("device", o.device);
  f.get("bind_host", o.bind_host);
  f.get("gather_reports", o.gather_reports);
  return o;
}

json to_json(const WorkerReport& r) {
  json checksums = json::array();
  for (const auto& c : r.shared_checksum) checksums.push_back(optional_json(c));
  json evaluations = json::array();
  for (const auto& [round, accuracy] : r.evaluations) evaluations.push_back({round, accuracy});
  json peers = json::array();
  for (const WorkerReport& p : r.peers) peers.push_back(to_json(p));
  return {{"version", WorkerReport::kVersion}, {"rank", r.rank}, {"first_round", r.first_round},
          {"loss", r.loss}, {"shared_checksum", checksums}, {"samples", r.samples},
          {"seconds", r.seconds}, {"setup_seconds", r.setup_seconds},
          {"evaluation_seconds", r.evaluation_seconds}, {"rounds_run", r.rounds_run}, {"total_rounds", r.total_rounds},
          {"accuracy", optional_json(r.accuracy)}, {"evaluations", evaluations},
          {"trace", r.trace}, {"peers", peers}};
}

WorkerReport worker_report_from_json(const json& j, const std::string& source) {
  const Fields f(j, source, "worker report", WorkerReport::kVersion);
  WorkerReport r;
  f.get("rank", r.rank);
  f.get("first_round", r.first_round);
  f.get("loss", r.loss);
  for (const json& c : f.at("shared_checksum")) r.shared_checksum.push_back(c.is_null() ? std::nullopt : std::optional<double>(c.get<double>()));
  f.get("samples", r.samples);
  f.get("seconds", r.seconds);
  f.get("setup_seconds", r.setup_seconds);
  f.get("evaluation_seconds", r.evaluation_seconds);
  f.get("rounds_run", r.rounds_run);
  f.get("total_rounds", r.total_rounds);
  if (!f.at("accuracy").is_null()) r.accuracy = f.at("accuracy").get<double>();
  for (const json& e : f.at("evaluations")) r.evaluations.emplace_back(e.at(0).get<std::uint64_t>(), e.at(1).get<double>());
  r.trace = f.at("trace");
  for (std::size_t i = 0; i < f.at("peers").size(); ++i)
    r.peers.push_back(worker_report_from_json(f.at("peers")[i], fmt::format("{} /peers/{}", source, i)));
  return r;
}

}  // namespace resist::exec
