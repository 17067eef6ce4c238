#include "model/block.hpp"

namespace resist {

std::string_view to_string(BlockKind kind) {
  switch (kind) {
    case BlockKind::stem_3x3: return "stem_3x3";
    case BlockKind::stem_7x7: return "stem_7x7";
    case BlockKind::preact_basic: return "preact_basic";
    case BlockKind::preact_bottleneck: return "preact_bottleneck";
    case BlockKind::basic: return "basic";
    case BlockKind::bottleneck: return "bottleneck";
    case BlockKind::head_preact: return "head_preact";
    case BlockKind::head: return "head";
    case BlockKind::hidden: return "hidden";
    case BlockKind::output: return "output";
  }
  return "unknown";
}

std::uint64_t Block::state_bytes(Dtype dtype) const {
  return static_cast<std::uint64_t>(params + buffers) * dtype_bytes(dtype);
}

std::uint64_t Block::grad_bytes(Dtype dtype) const {
  return static_cast<std::uint64_t>(params) * dtype_bytes(dtype);
}

}  // namespace resist
