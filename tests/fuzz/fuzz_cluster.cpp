// Fuzz target: a cluster file, as a scenario's "cluster" names it.
#include "fuzz_target.hpp"
#include "input/json_file.hpp"
#include "topology/cluster.hpp"

RESIST_FUZZ_TARGET(cluster) {
  return run([&] {
    const std::string source = "fuzz-cluster.json";
    const resist::Cluster c = resist::parse_cluster(resist::parse_json_text(text, source), source);
    if (c.worker_gpus.empty()) resist::fuzz::fail("a cluster without a worker GPU was accepted");
    for (const resist::ClusterLink& l : c.links)
      if (!(l.bandwidth > 0 && l.bandwidth < 1e300) || !(l.latency >= 0 && l.latency < 1e300))
        resist::fuzz::fail("a link of no, negative or infinite bandwidth or latency was accepted");
  });
}
