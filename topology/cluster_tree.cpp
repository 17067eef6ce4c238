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
               std::vector<TreeStep>& out) {
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

}  // namespace resist
