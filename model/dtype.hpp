// Element types the plan can move tensors in.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace resist {

/// Floating-point format of parameters and gradients on the wire and in compute.
enum class Dtype { fp32, fp16, bf16 };

/// Bytes per element.
std::uint32_t dtype_bytes(Dtype dtype);

/// Canonical lower-case name ("fp32", "fp16", "bf16").
std::string_view to_string(Dtype dtype);

/// Parses a canonical name; nullopt for anything else.
std::optional<Dtype> parse_dtype(std::string_view name);

}  // namespace resist
