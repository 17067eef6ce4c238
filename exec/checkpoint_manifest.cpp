// Checkpoint manifests: written atomically, checked against the scenario before resuming.
#include <fmt/format.h>

#include "exec/checkpoint.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"

namespace resist::exec {

namespace fs = std::filesystem;

fs::path manifest_path(const fs::path& dir) { return dir / "checkpoint.json"; }
fs::path global_model_path(const fs::path& dir) { return dir / "model.pt"; }
fs::path worker_state_path(const fs::path& dir, std::uint64_t round, int rank) {
  return dir / fmt::format("round-{}", round) / fmt::format("rank{}.pt", rank);
}

void write_manifest(const fs::path& dir, const CheckpointManifest& m) {
  const nlohmann::json j = {{"format", "resist-checkpoint"}, {"version", 1}, {"round", m.round},
                            {"total_rounds", m.total_rounds}, {"workers", m.workers},
                            {"model", "model.pt"}, {"eval_scale", m.eval_scale},
                            {"scenario", m.scenario}, {"network", m.network}};
  write_file_atomically(manifest_path(dir), j.dump(1) + "\n");
}

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& at) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return at + "/" + key;
      std::string d = first_difference(value, b.at(key), at + "/" + key);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) return at + "/" + key;
    return "";
  }
  return a == b ? "" : (at.empty() ? "/" : at);
}

CheckpointManifest read_manifest_for(const fs::path& dir, const Scenario& scenario) {
  const fs::path file = manifest_path(dir);
  if (!fs::exists(file))
    throw InputError(file.string(), "", "no checkpoint to resume from (expected the manifest a run "
                                        "with --checkpoint-dir writes after each round)");
  const nlohmann::json j = read_json_file(file);
  const auto field = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key))
      throw InputError(file.string(), std::string("/") + key, "missing: not a resist checkpoint manifest");
    return j.at(key);
  };
  if (field("format") != "resist-checkpoint" || field("version") != 1)
    throw InputError(file.string(), "/format", "expected a resist-checkpoint manifest, version 1");
  CheckpointManifest m;
  try {
    m.round = field("round").get<std::uint64_t>();
    m.total_rounds = field("total_rounds").get<std::uint64_t>();
    m.workers = field("workers").get<int>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(file.string(), "/round", "expected whole numbers for round, total_rounds and workers");
  }
  m.scenario = field("scenario");
  const std::string differs = first_difference(m.scenario, scenario.document);
  if (!differs.empty()) {
    const nlohmann::json::json_pointer at(differs);
    const auto value = [&](const nlohmann::json& doc) { return describe_json(doc.contains(at) ? doc.at(at) : nlohmann::json()); };
    throw InputError(file.string(), "/scenario" + differs,
                     fmt::format("the checkpoint is from a different scenario: {} there, {} now; "
                                 "resume with the scenario and --set options of the original run",
                                 value(m.scenario), value(scenario.document)));
  }
  for (int r = 0; r < m.workers; ++r)
    if (!fs::exists(worker_state_path(dir, m.round, r)))
      throw InputError(worker_state_path(dir, m.round, r).string(), "",
                       fmt::format("missing: the manifest says round {} is complete", m.round));
  return m;
}

}  // namespace resist::exec
