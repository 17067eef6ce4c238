// Checkpoint files of a real run (layout in exec/checkpoint.hpp): one worker's whole state, and
// the global model as a state_dict that PyTorch's torch.load reads with its defaults.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include "exec/data_feed.hpp"
#include "exec/network_module.hpp"
#include "plan/plan.hpp"

namespace resist::exec {

/// The file bytes of `value` (dictionaries, strings, integers, host tensors) in PyTorch's zip
/// serialization, written as plain Python objects: no TorchScript type tags, so Python's
/// torch.load(path) reads it with weights_only=True (the default since PyTorch 2.6).
std::vector<char> torch_save_bytes(const c10::IValue& value);

/// A dictionary file written by torch_save_bytes (or torch.save); std::runtime_error naming the
/// file when it cannot be read or holds no dictionary.
c10::impl::GenericDict read_torch_dict(const std::filesystem::path& file);

/// What a worker's checkpoint holds besides its model.
struct WorkerProgress {
  std::uint64_t round = 0;       ///< the round after which it was taken
  FeedPosition feed;
  std::uint64_t samples = 0;     ///< samples trained on so far
  std::vector<at::Tensor> momentum;  ///< per model parameter (undefined: none yet)
};

/// Writes one worker's model (parameters and buffers, under the module's own names), momentum and
/// progress to `file`, atomically; host copies, so it loads anywhere.
void save_worker_state(const std::filesystem::path& file, NetModel& model, const WorkerProgress& progress);

/// The model tensors of a worker's checkpoint file, under the module's own names.
std::map<std::string, at::Tensor> read_worker_model(const std::filesystem::path& file);

/// Puts a worker's checkpoint back into `model` and returns the rest of its state.
WorkerProgress restore_worker_state(const std::filesystem::path& file, NetModel& model);

/// The global model after `round`, each block taken from the file of the worker `holders[block]`
/// that holds its current state. Written to D/model.pt keyed by PyTorch names
/// (NetModelImpl::pytorch_names); returned keyed by the module's own names (to load into a NetModel).
std::map<std::string, at::Tensor> write_global_model(const std::filesystem::path& dir, std::uint64_t round,
                                                     NetModel& model, const std::vector<WorkerId>& holders);

/// Loads a state keyed by the module's own names into `model`.
void load_state(NetModel& model, const std::map<std::string, at::Tensor>& state);

}  // namespace resist::exec
