#include "topology/star_groups.hpp"

namespace resist {

std::optional<StarDecomposition> star_decomposition(const Cluster& cluster) {
  const std::size_t n = cluster.elements.size();
  const auto is_gpu = [&](std::size_t e) { return cluster.elements[e].kind == ElementKind::gpu; };
  std::vector<int> gpu_links(n, 0);
  std::vector<std::size_t> gpu_link(n, 0);
  for (std::size_t i = 0; i < cluster.links.size(); ++i) {
    const ClusterLink& l = cluster.links[i];
    if (is_gpu(l.a) && is_gpu(l.b)) return std::nullopt;  // GPU to GPU: not a star
    for (std::size_t end : {l.a, l.b})
      if (is_gpu(end)) {
        ++gpu_links[end];
        gpu_link[end] = i;
      }
  }
  StarDecomposition d;
  d.group_of_switch.assign(n, -1);
  std::vector<std::vector<std::size_t>> hung(n);  // GPUs by switch, in element order
  for (std::size_t e = 0; e < n; ++e) {
    if (!is_gpu(e)) continue;
    if (gpu_links[e] != 1) return std::nullopt;
    const ClusterLink& l = cluster.links[gpu_link[e]];
    hung[l.a == e ? l.b : l.a].push_back(e);
  }
  for (std::size_t e = 0; e < n; ++e) {
    if (is_gpu(e)) continue;
    if (hung[e].empty()) {
      d.backbone_switches.push_back(e);
      continue;
    }
    d.group_of_switch[e] = static_cast<int>(d.groups.size());
    StarGroup g{e, hung[e], {}};
    for (std::size_t gpu : g.gpus) g.links.push_back(gpu_link[gpu]);
    d.groups.push_back(std::move(g));
  }
  for (std::size_t i = 0; i < cluster.links.size(); ++i)
    if (!is_gpu(cluster.links[i].a) && !is_gpu(cluster.links[i].b)) d.backbone_links.push_back(i);
  return d;
}

std::vector<int> worker_groups(const Cluster& cluster) {
  std::vector<int> out(cluster.worker_gpus.size(), 0);
  const auto d = star_decomposition(cluster);
  if (!d) return out;
  std::vector<int> group_of_gpu(cluster.elements.size(), 0);
  for (std::size_t g = 0; g < d->groups.size(); ++g)
    for (std::size_t gpu : d->groups[g].gpus) group_of_gpu[gpu] = static_cast<int>(g);
  for (std::size_t w = 0; w < out.size(); ++w) out[w] = group_of_gpu[cluster.worker_gpus[w]];
  return out;
}

}  // namespace resist
