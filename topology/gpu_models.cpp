// Peak rates of the GPUs resist knows by name: dense tensor-core rates for fp16/bf16, plain
// fp32 (no TF32), from the vendors' data sheets (SXM parts).
#include "topology/cluster.hpp"

namespace resist {

const std::vector<GpuModel>& known_gpu_models() {
  static const std::vector<GpuModel> kModels = {
      {"V100", {{Dtype::fp32, 15.7e12}, {Dtype::fp16, 125e12}}, 32.0 * (1ull << 30)},
      {"A100", {{Dtype::fp32, 19.5e12}, {Dtype::fp16, 312e12}, {Dtype::bf16, 312e12}},
       80.0 * (1ull << 30)},
      {"H100", {{Dtype::fp32, 67e12}, {Dtype::fp16, 989e12}, {Dtype::bf16, 989e12}},
       80.0 * (1ull << 30)},
      {"H200", {{Dtype::fp32, 67e12}, {Dtype::fp16, 989e12}, {Dtype::bf16, 989e12}},
       141.0 * (1ull << 30)},
      // A 2-core x86 machine with AVX2 FMA at ~2.5 GHz: 2 x 2.5e9 x 32 FLOP/cycle.
      {"CPU-2core", {{Dtype::fp32, 160e9}, {Dtype::bf16, 160e9}}, 24.0 * (1ull << 30)},
      // One x86 core with AVX2: 2 FMA units x 8 floats x 2 FLOP x 2.5 GHz.
      {"CPU-core", {{Dtype::fp32, 80e9}, {Dtype::bf16, 80e9}}, 24.0 * (1ull << 30)},
  };
  return kModels;
}

}  // namespace resist
