// Small networking helpers for launching jobs; no LibTorch.
#pragma once

#include <optional>
#include <string>

namespace resist::exec {

/// A free TCP port on 127.0.0.1 for a job's rendezvous (free when asked; another process could
/// take it before the store binds it).
int free_loopback_port();

/// Where this process stands in a job started by an external launcher.
struct JobPlace {
  int rank = 0;
  int world = 1;
  int local_rank = 0;  ///< rank among the job's processes on this machine (picks the GPU)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher;  ///< whose variables said so: "torchrun-style", "Slurm", "Open MPI", "MPICH/PMI"
};

/// The job this process belongs to, from the launcher's environment: torchrun-style (RANK,
/// WORLD_SIZE, LOCAL_RANK), Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID), Open MPI
/// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK) or MPICH/PMI (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID),
/// first found wins; the rendezvous from MASTER_ADDR (default 127.0.0.1) and MASTER_PORT (29500).
/// Empty when none of those rank variables is set. Throws InputError (source "environment",
/// pointer the variable) for a value that is not a number or is out of range.
std::optional<JobPlace> job_from_environment();

/// Where Gloo should listen: loopback when the rendezvous is on this machine's loopback, else this
/// machine's host name (what other machines can reach).
std::string default_bind_host(const std::string& master_addr);

}  // namespace resist::exec
