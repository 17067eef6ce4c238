// Precompiled for every translation unit of the executor: LibTorch's headers cost ~20 s to parse
// per unit on a small machine, once here instead. (Meson's b_pch option turns it off.)
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
