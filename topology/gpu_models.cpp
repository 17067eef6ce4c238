// Peak rates of the GPUs resist knows by name, from the vendors' data sheets (SXM parts): dense
// tensor-core rates for fp16/bf16, plain fp32, dense TF32 (what fp32 convolutions run at), and
// the memory's bandwidth.
#include "topology/cluster.hpp"

namespace resist {

const std::vector<GpuModel>& known_gpu_models() {
  static const std::vector<GpuModel> kModels = {
      {"V100", {{Dtype::fp32, 15.7e12}, {Dtype::fp16, 125e12}}, 32.0 * (1ull << 30), 0, 900e9},
      {"A100", {{Dtype::fp32, 19.5e12}, {Dtype::fp16, 312e12}, {Dtype::bf16, 312e12}},
       80.0 * (1ull << 30), 156e12, 2039e9},
      {"H100", {{Dtype::fp32, 67e12}, {Dtype::fp16, 989e12}, {Dtype::bf16, 989e12}},
       80.0 * (1ull << 30), 494.7e12, 3.35e12},
      {"H200", {{Dtype::fp32, 67e12}, {Dtype::fp16, 989e12}, {Dtype::bf16, 989e12}},
       141.0 * (1ull << 30), 494.7e12, 4.8e12},
      // CPUs: no data sheet gives what one core streams through LibTorch's element-wise kernels.
      // Fitting rate and bandwidth to the blocks of three `resist profile` tables measured with one
      // thread on the development machine's EPYC cores (blocks whose feature maps differ 6x in
      // size for the same FLOPs) gave 6.9-9.6 FLOP per byte at the rate its convolutions reach:
      // 80 GFLOP/s over 8.5 is about 10 GB/s a core.
      // A 2-core x86 machine with AVX2 FMA at ~2.5 GHz: 2 x 2.5e9 x 32 FLOP/cycle.
      {"CPU-2core", {{Dtype::fp32, 160e9}, {Dtype::bf16, 160e9}}, 24.0 * (1ull << 30), 0, 20e9},
      // One x86 core with AVX2: 2 FMA units x 8 floats x 2 FLOP x 2.5 GHz.
      {"CPU-core", {{Dtype::fp32, 80e9}, {Dtype::bf16, 80e9}}, 24.0 * (1ull << 30), 0, 10e9},
  };
  return kModels;
}

}  // namespace resist
