// Small networking helpers for launching jobs; no LibTorch.
#pragma once

namespace resist::exec {

/// A free TCP port on 127.0.0.1 for a job's rendezvous (free when asked; another process could
/// take it before the store binds it).
int free_loopback_port();

}  // namespace resist::exec
