#include "model/dtype.hpp"

namespace resist {

std::uint32_t dtype_bytes(Dtype dtype) {
  return dtype == Dtype::fp32 ? 4 : 2;
}

std::string_view to_string(Dtype dtype) {
  switch (dtype) {
    case Dtype::fp32: return "fp32";
    case Dtype::fp16: return "fp16";
    case Dtype::bf16: return "bf16";
  }
  return "fp32";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (Dtype d : {Dtype::fp32, Dtype::fp16, Dtype::bf16})
    if (to_string(d) == name) return d;
  return std::nullopt;
}

}  // namespace resist
