#include "model/dtype.hpp"

#include "model/enum_names.hpp"

namespace resist {
namespace {

constexpr EnumNames<Dtype, 3> kNames({{{Dtype::fp32, "fp32"}, {Dtype::fp16, "fp16"},
                                        {Dtype::bf16, "bf16"}}});

}  // namespace

std::uint32_t dtype_bytes(Dtype dtype) {
  return dtype == Dtype::fp32 ? 4 : 2;
}

std::string_view to_string(Dtype dtype) { return kNames.name(dtype); }

std::optional<Dtype> parse_dtype(std::string_view name) { return kNames.parse(name); }

}  // namespace resist
