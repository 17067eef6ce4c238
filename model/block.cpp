#include "model/block.hpp"

#include "model/enum_names.hpp"

namespace resist {

namespace {

constexpr EnumNames<BlockKind, 10> kKindNames({{
    {BlockKind::stem_3x3, "stem_3x3"}, {BlockKind::stem_7x7, "stem_7x7"},
    {BlockKind::preact_basic, "preact_basic"}, {BlockKind::preact_bottleneck, "preact_bottleneck"},
    {BlockKind::basic, "basic"}, {BlockKind::bottleneck, "bottleneck"},
    {BlockKind::head_preact, "head_preact"}, {BlockKind::head, "head"},
    {BlockKind::hidden, "hidden"}, {BlockKind::output, "output"}}});

}  // namespace

std::string_view to_string(BlockKind kind) { return kKindNames.name(kind); }

std::uint64_t Block::state_bytes(Dtype dtype) const {
  return static_cast<std::uint64_t>(params + buffers) * dtype_bytes(dtype);
}

std::uint64_t Block::grad_bytes(Dtype dtype) const {
  return static_cast<std::uint64_t>(params) * dtype_bytes(dtype);
}

}  // namespace resist
