// What differs between the LibTorch versions resist builds with (Debian 12's 1.13, Debian 13's
// 2.6, the PyTorch 2.x wheels), in one place, so that no version check is scattered elsewhere.
#pragma once

#include <sstream>
#include <string>
#include <type_traits>

#include <torch/optim/optimizer.h>

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

}  // namespace resist::exec
