// Checkpoints of a training run: where they lie and what their manifest says. No LibTorch here, so
// the launcher can check a checkpoint before it starts any worker.
//
// Layout of a checkpoint directory D after round r completed on every worker:
//   D/checkpoint.json      the manifest: round r, workers, the scenario (defaults filled), the
//                          network's blocks and the scale to evaluate model.pt with
//   D/model.pt             the global model after round r: a dict of tensors under PyTorch's
//                          names, which torch.load reads with its defaults (weights_only)
//   D/round-<r>/rank<k>.pt worker k's whole state (model, momentum, data position), for --resume
// Every file is written to a temporary name and renamed; the manifest is written last, so it only
// ever names a round whose files are all complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "input/scenario.hpp"

namespace resist::exec {

struct CheckpointManifest {
  std::uint64_t round = 0;         ///< last complete round (0-based)
  std::uint64_t total_rounds = 0;  ///< rounds of the whole training
  int workers = 0;
  nlohmann::json scenario;         ///< the scenario document the run trained
  /// The network model.pt holds (model/model_text.hpp's network_json), so that tools outside
  /// resist (tools/resist_pytorch.py) can build the same PyTorch model.
  nlohmann::json network;
  /// Scale of the partitionable blocks' residual branches when the global model is evaluated:
  /// the round's eval_scale in the plan.
  double eval_scale = 1.0;
};

std::filesystem::path manifest_path(const std::filesystem::path& dir);
std::filesystem::path global_model_path(const std::filesystem::path& dir);
std::filesystem::path worker_state_path(const std::filesystem::path& dir, std::uint64_t round, int rank);

/// Writes the manifest atomically.
void write_manifest(const std::filesystem::path& dir, const CheckpointManifest& manifest);

/// The manifest of `dir`, checked against the scenario to resume: an InputError naming the
/// manifest when there is none, it is unreadable, or it comes from a different scenario (saying
/// which field differs).
CheckpointManifest read_manifest_for(const std::filesystem::path& dir, const Scenario& scenario);

/// The first JSON pointer at which two documents differ ("" when equal).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& at = "");

}  // namespace resist::exec
