#include "topology/cluster_tree.hpp"

#include <algorithm>

namespace resist {

std::optional<ClusterTree> cluster_tree(const Cluster& cluster) {
  const std::size_t n = cluster.elements.size();
  if (n == 0 || cluster.links.size() != n - 1) return std::nullopt;  // connected with n - 1 links: a tree
  std::vector<std::vector<std::size_t>> links_of(n);
  for (std::size_t i = 0; i < cluster.links.size(); ++i) {
    links_of[cluster.links[i].a].push_back(i);
    links_of[cluster.links[i].b].push_back(i);
  }
  std::size_t root = 0;
  for (std::size_t e = 0; e < n; ++e)
    if (cluster.elements[e].kind == ElementKind::switch_) {
      root = e;
      break;
    }
  ClusterTree t;
  t.parent.assign(n, ClusterTree::kNone);
  t.up_link.assign(n, ClusterTree::kNone);
  t.depth.assign(n, -1);
  std::vector<std::size_t> queue{root};
  t.depth[root] = 0;
  for (std::size_t next = 0; next < queue.size(); ++next) {
    const std::size_t e = queue[next];
    for (std::size_t i : links_of[e]) {
      const ClusterLink& l = cluster.links[i];
      const std::size_t other = l.a == e ? l.b : l.a;
      if (t.depth[other] >= 0) {
        if (i != t.up_link[e]) return std::nullopt;  // reached twice: a cycle
        continue;
      }
      t.depth[other] = t.depth[e] + 1;
      t.parent[other] = e;
      t.up_link[other] = i;
      queue.push_back(other);
    }
  }
  if (queue.size() != n) return std::nullopt;  // some element unreached (then a cycle elsewhere)
  return t;
}

void tree_path(const ClusterTree& tree, const Cluster& cluster, std::size_t from, std::size_t to,
               std::vector<PathStep>& out) {
  out.clear();
  std::size_t a = from, b = to;  // up to the lowest element both lie under
  while (tree.depth[a] > tree.depth[b]) a = tree.parent[a];
  while (tree.depth[b] > tree.depth[a]) b = tree.parent[b];
  while (a != b) {
    a = tree.parent[a];
    b = tree.parent[b];
  }
  for (std::size_t e = from; e != a; e = tree.parent[e])  // up: from e to its parent
    out.push_back({tree.up_link[e], cluster.links[tree.up_link[e]].a == e});
  const std::size_t up = out.size();
  for (std::size_t e = to; e != a; e = tree.parent[e])  // down: from the parent to e, reversed below
    out.push_back({tree.up_link[e], cluster.links[tree.up_link[e]].a != e});
  std::reverse(out.begin() + static_cast<std::ptrdiff_t>(up), out.end());
}

std::optional<ClusterTorus> cluster_torus(const Cluster& cluster) {
  if (cluster.torus_dimensions.empty()) return std::nullopt;
  ClusterTorus t;
  std::size_t stride = 1;
  for (int k : cluster.torus_dimensions) {
    t.size.push_back(static_cast<std::size_t>(k));
    t.stride.push_back(stride);
    stride *= static_cast<std::size_t>(k);
  }
  const std::size_t dims = t.size.size();
  t.next_link.assign(stride * dims, ClusterTree::kNone);
  for (std::size_t i = 0; i < cluster.links.size(); ++i) {
    const ClusterLink& l = cluster.links[i];
    for (std::size_t d = 0; d < dims; ++d) {
      const std::size_t ca = l.a / t.stride[d] % t.size[d], cb = l.b / t.stride[d] % t.size[d];
      if (ca == cb) continue;
      const bool a_first = (ca + 1) % t.size[d] == cb;  // b is a's next along d
      t.next_link[(a_first ? l.a : l.b) * dims + d] = i;
    }
  }
  return t;
}

void torus_path(const ClusterTorus& torus, const Cluster& cluster, std::size_t from, std::size_t to,
                std::vector<PathStep>& out) {
  out.clear();
  const std::size_t dims = torus.size.size();
  std::size_t at = from;
  for (std::size_t d = 0; d < dims; ++d) {
    const std::size_t k = torus.size[d], s = torus.stride[d];
    const std::size_t target = to / s % k;
    std::size_t c = at / s % k;
    if (c == target) continue;
    const std::size_t ahead = (target + k - c) % k;  // steps the next-GPU way
    const bool up = ahead <= k - ahead;
    for (std::size_t step = 0, steps = up ? ahead : k - ahead; step < steps; ++step) {
      const std::size_t nc = up ? (c + 1) % k : (c + k - 1) % k;
      const std::size_t next = at - c * s + nc * s;
      std::size_t l = torus.next_link[(up ? at : next) * dims + d];
      if (l == ClusterTree::kNone) l = torus.next_link[(up ? next : at) * dims + d];  // two along d: one link
      out.push_back({l, cluster.links[l].a == at});
      at = next;
      c = nc;
    }
  }
}

}  // namespace resist
