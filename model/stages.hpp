// Layer-parallel training cuts a network into consecutive stages, one per worker; every stage but
// the first takes its input from an AuxNet, a small convolutional network fed with the image that
// produces a tensor of the shape the stage's first block takes (see the README, "Layer-parallel").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/network.hpp"

namespace resist {

/// The most stages a layer-parallel network is cut into (finding balanced cuts takes time in
/// stages x blocks; a pipeline of more than this many stages is not one anybody trains).
inline constexpr int kMaxStages = 256;

/// One 3x3 convolution of an AuxNet (padding 1, no bias), with BatchNorm and ReLU after it unless
/// it is the last one.
struct AuxLayer {
  int in_channels = 0;
  int out_channels = 0;
  int stride = 1;
  bool norm_relu = true;
};

/// An AuxNet: one stride-2 convolution per halving of the image down to the cut's resolution (one
/// stride-1 convolution when there is none), `depth` stride-1 ones, then a convolution to the cut's
/// channels. Its output is the auxiliary variable of the cut.
struct AuxNet {
  std::vector<AuxLayer> layers;
  Size2 in_size;
  Size2 out_size;
  int out_channels = 0;
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  double forward_flops = 0;    ///< per sample
  std::int64_t activations = 0;

  /// Forward plus backward FLOPs per sample.
  double train_flops() const { return 3.0 * forward_flops; }
  /// Elements of its output per sample (the cut's tensor).
  std::int64_t output_elements() const {
    return static_cast<std::int64_t>(out_channels) * out_size.h * out_size.w;
  }
};

/// A cut where no AuxNet can produce the block's input (its resolution is not reached by halving
/// the image), or settings that cannot make stages.
class StageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The AuxNet producing the input of block `cut` from the image; StageError when none can.
AuxNet make_auxnet(const Network& net, std::size_t cut, int width, int depth);

/// One stage: blocks [first, end) and, for every stage but the first, its AuxNet.
struct Stage {
  std::size_t first = 0;
  std::size_t end = 0;
  std::optional<AuxNet> aux;

  /// Training FLOPs per sample of its blocks alone.
  double block_train_flops(const Network& net) const;
};

/// The start blocks of stages 2..K that make the slowest stage (its blocks' and its AuxNet's
/// training FLOPs, the AuxNet's times its steps per iteration) as fast as it can be. StageError
/// when the network has fewer blocks than stages.
std::vector<std::size_t> balanced_cuts(const Network& net, int stages, int aux_width, int aux_depth,
                                       int aux_steps = 1);

/// The same with any costs: each block's, and the AuxNet's that would feed each block (infinite
/// where none can; the first block's is not used).
std::vector<std::size_t> balanced_cuts(int stages, const std::vector<double>& block_cost,
                                       const std::vector<double>& aux_cost);

/// Training FLOPs per sample of the AuxNet feeding each block (infinite where none can).
std::vector<double> auxnet_train_flops(const Network& net, int aux_width, int aux_depth);

/// Stages starting at the given blocks (ascending, none the first block).
std::vector<Stage> make_stages(const Network& net, const std::vector<std::size_t>& cuts, int aux_width,
                               int aux_depth);

}  // namespace resist
