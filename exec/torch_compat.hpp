// What differs between the LibTorch versions resist builds with (Debian 12's 1.13, Debian 13's
// 2.6, the PyTorch 2.x wheels), in one place, so that no version check is scattered elsewhere.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <type_traits>

#include <optional>

#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

namespace resist::exec {

/// The key under which `optimizer.state()` files a parameter's state: LibTorch 1.x keys it by the
/// parameter's TensorImpl address printed as a string, 2.x by the address itself. Chosen from the
/// map's own key type, so it follows whatever the LibTorch at hand declares.
/// (A template, so that only the branch for the map at hand is compiled.)
template <class Optimizer>
auto optimizer_state_key(const Optimizer& optimizer, const torch::Tensor& parameter) {
  using Key = typename std::decay_t<decltype(optimizer.state())>::key_type;
  void* const impl = parameter.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;  // what LibTorch 1.x's c10::guts::to_string(void*) writes
    text << impl;
    return text.str();
  } else {
    return static_cast<Key>(impl);
  }
}

/// TCPStore options for c10d's classic store server, which every LibTorch build has: 2.4 and
/// later default to the libuv server, which Debian 13's LibTorch is built without ("use_libuv was
/// requested but PyTorch was build without libuv support"), and 1.x has no such option.
template <class StoreOptions>
void use_classic_store(StoreOptions& options) {
  if constexpr (requires { options.useLibUV; }) options.useLibUV = false;
}

/// Autocast on `device` to `dtype` for the scope's lifetime (nothing when `dtype` is empty): the
/// ops autocast lists run in the lower precision, the rest in fp32, parameters stay fp32. On
/// leaving, the cache of parameters cast for this forward pass is dropped, as Python's
/// `torch.autocast` does: the next pass must see the weights the optimizer has just updated.
/// LibTorch 2.4 and later take the device type; 1.x and early 2.x have one switch per device.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, std::optional<at::ScalarType> dtype) : device_(device), on_(dtype.has_value()) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_ = at::autocast::is_autocast_enabled(device_);
    old_dtype_ = at::autocast::get_autocast_dtype(device_);
    at::autocast::set_autocast_dtype(device_, *dtype);
    at::autocast::set_autocast_enabled(device_, true);
#else
    const bool cpu = device_ == c10::DeviceType::CPU;
    was_ = cpu ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
    old_dtype_ = cpu ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
    if (cpu) {
      at::autocast::set_autocast_cpu_dtype(*dtype);
      at::autocast::set_cpu_enabled(true);
    } else {
      at::autocast::set_autocast_gpu_dtype(*dtype);
      at::autocast::set_enabled(true);
    }
#endif
  }
  ~AutocastScope() {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(device_, was_);
    at::autocast::set_autocast_dtype(device_, old_dtype_);
#else
    if (device_ == c10::DeviceType::CPU) {
      at::autocast::set_cpu_enabled(was_);
      at::autocast::set_autocast_cpu_dtype(old_dtype_);
    } else {
      at::autocast::set_enabled(was_);
      at::autocast::set_autocast_gpu_dtype(old_dtype_);
    }
#endif
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool on_;
  bool was_ = false;
  at::ScalarType old_dtype_ = at::kFloat;
};

/// An error's message: LibTorch's without its backtrace, any other's what().
inline std::string error_text(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return c10_error ? c10_error->what_without_backtrace() : e.what();
}

}  // namespace resist::exec
