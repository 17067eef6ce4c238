// Cluster documents: schema validation, shape expansion into elements and links, references.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "input/schema.hpp"
#include "topology/cluster.hpp"
#include "topology/embedded_clusters.hpp"

namespace resist {

void check_connectivity(const Cluster& cluster, const std::vector<std::string>& worker_pointers);

namespace {

using nlohmann::json;

const SchemaValidator& cluster_validator() {
  static const SchemaValidator validator(
      parse_json_text(cluster_schema_text(), "cluster.schema.json (built in)"));
  return validator;
}

class Builder {
 public:
  Builder(const json& doc, const std::string& source) : doc_(doc), source_(source) {
    cluster_.source = source;
    cluster_.name = doc.value("name", std::string());
    cluster_.shape = doc.at("shape").get<std::string>();
    if (doc.contains("price")) {
      const json& p = doc.at("price");
      cluster_.price = ClusterPrice{p.at("gpu_hour").get<double>(), p.value("network_gb", 0.0),
                                    p.at("currency").get<std::string>(), p.at("as_of").get<std::string>(),
                                    p.value("source", std::string())};
    }
  }

  Cluster build() {
    models();
    const std::string& s = cluster_.shape;
    if (s == "star") star();
    if (s == "nodes") nodes();
    if (s == "fat_tree") fat_tree();
    if (s == "ring") ring();
    if (s == "torus") torus();
    if (s == "dragonfly") dragonfly();
    if (s == "graph") graph();
    std::vector<std::string> worker_pointers = workers();
    check_connectivity(cluster_, worker_pointers);
    return std::move(cluster_);
  }

 private:
  [[noreturn]] void fail(const std::string& at, const std::string& message) const {
    throw InputError(source_, at, message);
  }

  const json& need(const char* key) const {
    if (!doc_.contains(key))
      fail("", fmt::format("missing field \"{}\", required by shape \"{}\"", key, cluster_.shape));
    return doc_.at(key);
  }

  int count(const char* key) const { return need(key).get<int>(); }

  /// GPUs a shape generates (the product of `factors`), refused above kMaxClusterGpus before any
  /// is made; the error points at the last factor.
  int total_gpus(std::initializer_list<const char*> factors) const {
    std::int64_t total = 1;
    std::string names;
    for (const char* f : factors) {
      total *= count(f);
      names += (names.empty() ? "" : " x ") + std::string(f);
    }
    if (total > kMaxClusterGpus)
      fail(std::string("/") + *(factors.end() - 1),
           fmt::format("{} GPUs ({}) is above the limit of {}", total, names, kMaxClusterGpus));
    return static_cast<int>(total);
  }

  void models() {
    cluster_.gpu_models = known_gpu_models();
    if (!doc_.contains("gpu_models")) return;
    const json& list = doc_.at("gpu_models");
    for (std::size_t i = 0; i < list.size(); ++i) {
      GpuModel m;
      m.name = list[i].at("name").get<std::string>();
      m.memory_bytes = list[i].at("memory_gib").get<double>() * (1ull << 30);
      const json& peaks = list[i].at("peak_tflops");
      for (Dtype d : {Dtype::fp32, Dtype::fp16, Dtype::bf16})
        if (peaks.contains(std::string(to_string(d))))
          m.peak_flops[d] = peaks.at(std::string(to_string(d))).get<double>() * 1e12;
      if (m.peak_flops.empty())
        fail(fmt::format("/gpu_models/{}/peak_tflops", i), "expected at least one of fp32, fp16, bf16");
      m.tf32_flops = peaks.value("tf32", 0.0) * 1e12;
      if (list[i].contains("memory_bandwidth")) {
        const std::string bw = list[i].at("memory_bandwidth").get<std::string>();
        const auto bandwidth = parse_bandwidth(bw);
        if (!bandwidth || *bandwidth > kMaxBandwidth)
          fail(fmt::format("/gpu_models/{}/memory_bandwidth", i),
               fmt::format("expected a bandwidth from 1Bps to 100TBps such as \"3.35TBps\", found \"{}\"", bw));
        m.memory_bandwidth = *bandwidth;
      }
      auto& models = cluster_.gpu_models;
      models.erase(std::remove_if(models.begin(), models.end(),
                                  [&](const GpuModel& g) { return g.name == m.name; }),
                   models.end());
      models.push_back(std::move(m));
    }
  }

  std::string model(const std::string& name, const std::string& at) const {
    for (const GpuModel& m : cluster_.gpu_models)
      if (m.name == name) return name;
    std::string known;
    for (const GpuModel& m : cluster_.gpu_models) known += (known.empty() ? "" : ", ") + m.name;
    fail(at, fmt::format("unknown GPU model \"{}\"; known: {}", name, known));
  }

  std::size_t element(const std::string& name, ElementKind kind, const std::string& gpu,
                      const std::string& at) {
    if (!index_.try_emplace(name, cluster_.elements.size()).second)
      fail(at, fmt::format("duplicate element \"{}\"", name));
    cluster_.elements.push_back({name, kind, gpu});
    return cluster_.elements.size() - 1;
  }

  void link(const std::string& name, std::size_t a, std::size_t b, const json& spec,
            const std::string& at, double bandwidth_scale = 1.0) {
    const LinkSpec& l = link_spec(spec, at);
    cluster_.links.push_back({name, l.kind, a, b, l.bandwidth * bandwidth_scale, l.latency, l.mtu});
  }

  /// A link section's values, read once however many links a shape makes of it.
  struct LinkSpec {
    std::string kind;
    double bandwidth = 0, latency = 0;
    int mtu = 0;
  };

  /// TCP over Ethernet: the link's MTU (1,500 unless given); 0 where it names no transport.
  int transport_mtu(const json& spec, const std::string& at) const {
    if (!spec.contains("transport")) {
      if (spec.contains("mtu")) fail(at + "/mtu", "only a link with \"transport\": \"tcp\" has frames to size: set transport, or remove mtu");
      return 0;
    }
    if (spec.at("kind").get<std::string>() != "ethernet")
      fail(at + "/transport", fmt::format("TCP here is TCP over Ethernet frames; expected kind \"ethernet\", found \"{}\"",
                                          spec.at("kind").get<std::string>()));
    return spec.value("mtu", 1500);
  }
  const LinkSpec& link_spec(const json& spec, const std::string& at) {
    for (const auto& [section, parsed] : link_specs_)
      if (section == &spec) return parsed;
    const std::string bw = spec.at("bandwidth").get<std::string>();
    const std::string lat = spec.at("latency").get<std::string>();
    const auto bandwidth = parse_bandwidth(bw);
    if (!bandwidth)
      fail(at + "/bandwidth", fmt::format("expected a positive bandwidth such as \"25Gbps\" or "
                                          "\"450GBps\", found \"{}\"", bw));
    if (*bandwidth > kMaxBandwidth) fail(at + "/bandwidth", fmt::format("\"{}\" is above the limit of 100TBps", bw));
    const auto latency = parse_latency(lat);
    if (!latency)
      fail(at + "/latency", fmt::format("expected a latency such as \"5us\" or \"1.5ms\", found "
                                        "\"{}\"", lat));
    if (*latency > kMaxLatency) fail(at + "/latency", fmt::format("\"{}\" is above the limit of 3600s", lat));
    if (link_specs_.size() > 8) link_specs_.clear();  // shapes read a few sections; graphs one per link
    link_specs_.emplace_back(&spec, LinkSpec{spec.at("kind").get<std::string>(), *bandwidth, *latency, transport_mtu(spec, at)});
    return link_specs_.back().second;
  }

  std::string gpu() const { return model(need("gpu").get<std::string>(), "/gpu"); }

  void star() {
    const std::string m = gpu();
    const json& spec = need("link");
    const std::size_t hub = element("switch", ElementKind::switch_, "", "/shape");
    for (int i = 0; i < count("gpus"); ++i) {
      const std::size_t g = element(fmt::format("gpu{}", i), ElementKind::gpu, m, "/gpus");
      link(fmt::format("gpu{}-link", i), g, hub, spec, "/link");
    }
  }

  void nodes() {
    const std::string m = gpu();
    total_gpus({"nodes", "gpus_per_node"});
    const int n = count("nodes");
    const json& intra = need("intra");
    std::size_t network = 0;
    if (n > 1) network = element("network", ElementKind::switch_, "", "/shape");
    for (int node = 0; node < n; ++node) {
      const std::size_t hub =
          element(fmt::format("node{}.switch", node), ElementKind::switch_, "", "/nodes");
      for (int i = 0; i < count("gpus_per_node"); ++i) {
        const std::size_t g =
            element(fmt::format("node{}.gpu{}", node, i), ElementKind::gpu, m, "/gpus_per_node");
        link(fmt::format("node{}.gpu{}-link", node, i), g, hub, intra, "/intra");
      }
      if (n > 1) link(fmt::format("node{}.nic", node), hub, network, need("nic"), "/nic");
    }
  }

  /// Hosts on leaves: 1-GPU hosts, or nodes of `gpus_per_node` GPUs on a node switch (their
  /// intra fabric), the node switch linked to the leaf by `host_link` (its NICs summed). Two levels
  /// (the default): the spines as one switch, `core`, each leaf's uplinks to it summed (ideal ECMP).
  /// Three (`levels` 3): `pods` of `leaves` leaves, each pod's spines one switch (`pod0.spines`) the
  /// pod's leaves link to as above, linked to `core` by their `core_uplinks` core links summed.
  void fat_tree() {
    const std::string m = gpu();
    const int levels = doc_.value("levels", 2);
    if (levels == 2)
      for (const char* key : {"pods", "core_uplinks", "core_link", "pod_oversubscription"})
        if (doc_.contains(key))
          fail(std::string("/") + key, fmt::format("only a 3-level fat-tree has {}: set levels to 3, or remove it", key));
    const int total = levels == 3 ? total_gpus({"pods", "leaves", "gpus_per_leaf"}) : total_gpus({"leaves", "gpus_per_leaf"});
    const int pods = levels == 3 ? count("pods") : 1, leaves = count("leaves");
    const int per_node = doc_.value("gpus_per_node", 1), per_leaf = count("gpus_per_leaf");
    if (per_leaf % per_node != 0)
      fail("/gpus_per_node", fmt::format("expected a divisor of gpus_per_leaf ({}): a leaf holds whole nodes, found {}",
                                         per_leaf, per_node));
    if (per_node == 1 && doc_.contains("intra"))
      fail("/intra", "a fat-tree of 1-GPU hosts has no intra-node fabric: set gpus_per_node above 1, or remove intra");
    const int hosts = per_leaf / per_node;
    const double uplink = link_spec(need("uplink"), "/uplink").bandwidth;
    const double spines = uplinks("spines", "oversubscription", "leaf", hosts * link_spec(need("host_link"), "/host_link").bandwidth,
                                  uplink);
    const double core_uplinks =
        levels == 3 ? uplinks("core_uplinks", "pod_oversubscription", "spine", leaves * uplink,
                              link_spec(need("core_link"), "/core_link").bandwidth)
                    : 0;
    const auto all_leaves = static_cast<std::size_t>(pods) * static_cast<std::size_t>(leaves);
    const std::size_t below = static_cast<std::size_t>(total) + (per_node > 1 ? all_leaves * static_cast<std::size_t>(hosts) : 0);
    const std::size_t links = below + all_leaves + (levels == 3 ? static_cast<std::size_t>(pods) : 0);
    cluster_.elements.reserve(links + 1);  // a GPU or switch below each link, and the core
    cluster_.links.reserve(links);
    index_.reserve(links + 1);
    const std::size_t core = element("core", ElementKind::switch_, "", levels == 3 ? "/core_uplinks" : "/spines");
    for (int pod = 0; pod < pods; ++pod) {
      const std::string prefix = levels == 3 ? fmt::format("pod{}.", pod) : "";
      std::size_t top = core;
      if (levels == 3) {
        top = element(prefix + "spines", ElementKind::switch_, "", "/spines");
        link(fmt::format("pod{}-uplinks", pod), top, core, need("core_link"), "/core_link", spines * core_uplinks);
      }
      for (int leaf = 0; leaf < leaves; ++leaf) {
        const std::string name = fmt::format("{}leaf{}", prefix, leaf);
        const std::size_t l = fat_tree_leaf(name, m, hosts, per_node);
        // The leaf's uplinks to every spine, as one link of their summed bandwidth (ideal ECMP).
        link(name + "-uplinks", l, top, need("uplink"), "/uplink", spines);
      }
    }
  }

  /// One leaf switch `name` with its hosts: 1-GPU hosts, or nodes of `per_node` GPUs.
  std::size_t fat_tree_leaf(const std::string& name, const std::string& m, int hosts, int per_node) {
    const std::size_t l = element(name, ElementKind::switch_, "", "/leaves");
    for (int host = 0; host < hosts; ++host) {
      if (per_node == 1) {
        const std::size_t g = element(fmt::format("{}.gpu{}", name, host), ElementKind::gpu, m, "/gpus_per_leaf");
        link(fmt::format("{}.gpu{}-link", name, host), g, l, need("host_link"), "/host_link");
        continue;
      }
      const std::string node = fmt::format("{}.node{}", name, host);
      const std::size_t hub = element(node + ".switch", ElementKind::switch_, "", "/gpus_per_node");
      for (int i = 0; i < per_node; ++i) {
        const std::size_t g = element(fmt::format("{}.gpu{}", node, i), ElementKind::gpu, m, "/gpus_per_node");
        link(fmt::format("{}.gpu{}-link", node, i), g, hub, need("intra"), "/intra");
      }
      link(node + ".nic", hub, l, need("host_link"), "/host_link");
    }
    return l;
  }

  /// How many links go up from each `below` switch (a leaf's spines, a pod spine's core uplinks):
  /// `count_key` as written, or what the `ratio_key` oversubscription (capacity down : capacity up)
  /// makes of `down` bytes/s over links of `up` bytes/s, which must be a whole number. Both given
  /// must agree.
  double uplinks(const char* count_key, const char* ratio_key, const char* below, double down, double up) {
    const auto gbps = [](double bytes) { return bytes * 8 / 1e9; };
    const std::string ratio_at = std::string("/") + ratio_key;
    if (!doc_.contains(ratio_key)) {
      if (!doc_.contains(count_key))
        fail("", fmt::format("missing field \"{}\" (or \"{}\"), required by shape \"fat_tree\"", count_key, ratio_key));
      return count(count_key);
    }
    const double ratio = doc_.at(ratio_key).get<double>();
    const double exact = down / (ratio * up);
    if (doc_.contains(count_key)) {
      const int n = count(count_key);
      const double made = down / (n * up);
      if (std::abs(made - ratio) > 1e-9 * ratio)
        fail(ratio_at, fmt::format("{} {} of {:g} Gb/s per {} make {:.4g}:1 ({:g} Gb/s down, {:g} Gb/s up), not {:g}:1",
                                   n, count_key, gbps(up), below, made, gbps(down), gbps(n * up), ratio));
      return n;
    }
    const double whole = std::round(exact);
    if (whole >= 1 && whole <= kMaxClusterGpus && std::abs(exact - whole) <= 1e-9 * exact) return whole;
    if (exact > kMaxClusterGpus)
      fail(ratio_at, fmt::format("{:g}:1 needs {:.4g} {} of {:g} Gb/s per {}, above the limit of {}", ratio, exact,
                                 count_key, gbps(up), below, kMaxClusterGpus));
    const double lo = std::max(1.0, std::floor(exact)), hi = std::ceil(exact);
    std::string choices = fmt::format("{:g} give {:.4g}:1", lo, down / (lo * up));
    if (hi > lo) choices += fmt::format(", {:g} give {:.4g}:1", hi, down / (hi * up));
    fail(ratio_at, fmt::format("{:g}:1 needs {:.4g} {} of {:g} Gb/s per {} ({:g} Gb/s down), not a whole number: "
                               "{}; set {} instead, or a ratio they make",
                               ratio, exact, count_key, gbps(up), below, gbps(down), choices, count_key));
  }

  /// Groups of routers, each router with its GPUs: the routers of a group all linked to each other
  /// (local links), each pair of groups joined by one global link (their summed global bandwidth),
  /// spread over the routers of each group, so that a minimal route takes at most one local hop,
  /// the global one and another local one.
  void dragonfly() {
    const std::string m = gpu();
    const std::int64_t total = total_gpus({"groups", "routers_per_group", "gpus_per_router"});
    const std::int64_t groups = count("groups"), routers = count("routers_per_group"), per_router = count("gpus_per_router");
    const std::int64_t links = total + groups * routers * (routers - 1) / 2 + groups * (groups - 1) / 2;
    if (links > kMaxGeneratedLinks)
      fail("/routers_per_group", fmt::format("{} links (the GPUs', every group's routers pairwise, every pair of groups) "
                                             "is above the limit of {}", links, kMaxGeneratedLinks));
    cluster_.elements.reserve(static_cast<std::size_t>(total + groups * routers));
    cluster_.links.reserve(static_cast<std::size_t>(links));
    index_.reserve(static_cast<std::size_t>(total + groups * routers));
    std::vector<std::size_t> router(static_cast<std::size_t>(groups * routers));
    for (std::int64_t g = 0; g < groups; ++g)
      for (std::int64_t r = 0; r < routers; ++r) {
        const std::string name = fmt::format("group{}.router{}", g, r);
        const std::size_t hub = element(name, ElementKind::switch_, "", "/routers_per_group");
        router[static_cast<std::size_t>(g * routers + r)] = hub;
        for (std::int64_t k = 0; k < per_router; ++k) {
          const std::size_t gpu = element(fmt::format("{}.gpu{}", name, k), ElementKind::gpu, m, "/gpus_per_router");
          link(fmt::format("{}.gpu{}-link", name, k), gpu, hub, need("host_link"), "/host_link");
        }
      }
    const auto at = [&](std::int64_t g, std::int64_t r) { return router[static_cast<std::size_t>(g * routers + r)]; };
    for (std::int64_t g = 0; g < groups && routers > 1; ++g)
      for (std::int64_t a = 0; a < routers; ++a)
        for (std::int64_t b = a + 1; b < routers; ++b)
          link(fmt::format("group{}.router{}-router{}", g, a, b), at(g, a), at(g, b), need("local_link"), "/local_link");
    // Group i's link to group j leaves from router (the rank of j among i's other groups) mod routers.
    for (std::int64_t i = 0; i < groups; ++i)
      for (std::int64_t j = i + 1; j < groups; ++j)
        link(fmt::format("group{}-group{}", i, j), at(i, (j - 1) % routers), at(j, i % routers), need("global_link"),
             "/global_link");
  }

  void ring() {
    const std::string m = gpu();
    const int n = count("gpus");
    for (int i = 0; i < n; ++i) element(fmt::format("gpu{}", i), ElementKind::gpu, m, "/gpus");
    for (int i = 0; i < n && n > 1; ++i) {
      if (n == 2 && i == 1) break;  // two GPUs need one link, not two
      link(fmt::format("gpu{}-gpu{}", i, (i + 1) % n), static_cast<std::size_t>(i),
           static_cast<std::size_t>((i + 1) % n), need("link"), "/link");
    }
  }

  /// GPUs at the points of a torus (`dimensions`, first fastest), each linked to its next one
  /// along every dimension, the last back to the first (one link where a dimension has two).
  void torus() {
    const std::string m = gpu();
    const json& dims = need("dimensions");
    std::int64_t total = 1;
    for (const json& d : dims) total *= d.get<std::int64_t>();
    if (total > kMaxClusterGpus)
      fail("/dimensions", fmt::format("{} GPUs (the dimensions' product) is above the limit of {}", total, kMaxClusterGpus));
    std::vector<int>& size = cluster_.torus_dimensions;
    for (const json& d : dims) size.push_back(d.get<int>());
    const auto n = static_cast<std::size_t>(total);
    cluster_.elements.reserve(n);
    cluster_.links.reserve(n * size.size());
    index_.reserve(n);
    const auto name = [&](std::size_t i) {
      std::string out = "gpu";
      for (std::size_t d = 0; d < size.size(); ++d) {
        out += fmt::format("{}{}", d ? "." : "", i % static_cast<std::size_t>(size[d]));
        i /= static_cast<std::size_t>(size[d]);
      }
      return out;
    };
    for (std::size_t i = 0; i < n; ++i) element(name(i), ElementKind::gpu, m, "/dimensions");
    std::size_t stride = 1;
    for (std::size_t d = 0; d < size.size(); ++d) {
      const auto k = static_cast<std::size_t>(size[d]);
      for (std::size_t i = 0; i < n && k > 1; ++i) {
        const std::size_t c = i / stride % k;
        if (k == 2 && c == 1) continue;  // two GPUs along this dimension: one link
        const std::size_t next = i - c * stride + (c + 1) % k * stride;
        link(cluster_.elements[i].name + "-" + cluster_.elements[next].name, i, next, need("link"), "/link");
      }
      stride *= k;
    }
  }

  void graph() {
    const json& elements = need("elements");
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const json& e = elements[i];
      const std::string at = fmt::format("/elements/{}", i);
      const bool is_gpu = e.at("type") == "gpu";
      if (is_gpu && !e.contains("gpu")) fail(at, "missing field \"gpu\" (the GPU's model)");
      if (!is_gpu && e.contains("gpu")) fail(at + "/gpu", "a switch has no GPU model");
      element(e.at("name").get<std::string>(), is_gpu ? ElementKind::gpu : ElementKind::switch_,
              is_gpu ? model(e.at("gpu").get<std::string>(), at + "/gpu") : "", at + "/name");
    }
    const json& links = need("links");
    for (std::size_t i = 0; i < links.size(); ++i) {
      const json& l = links[i];
      const std::string at = fmt::format("/links/{}", i);
      std::size_t ends[2];
      for (std::size_t k = 0; k < 2; ++k) {
        const std::string name = l.at("between")[k].get<std::string>();
        const auto it = index_.find(name);
        if (it == index_.end())
          fail(fmt::format("{}/between/{}", at, k),
               fmt::format("link \"{}\" is dangling: no element \"{}\"", l.at("name").get<std::string>(), name));
        ends[k] = it->second;
      }
      if (ends[0] == ends[1]) fail(at + "/between", "a link must join two different elements");
      link(l.at("name").get<std::string>(), ends[0], ends[1], l, at);
    }
  }

  std::vector<std::string> workers() {
    std::vector<std::string> pointers;
    if (!doc_.contains("workers")) {
      for (std::size_t i = 0; i < cluster_.elements.size(); ++i)
        if (cluster_.elements[i].kind == ElementKind::gpu) {
          cluster_.worker_gpus.push_back(i);
          pointers.push_back(cluster_.shape == "graph" ? fmt::format("/elements/{}", i) : "");
        }
      if (cluster_.worker_gpus.empty()) fail("", "expected at least one GPU, found none");
      return pointers;
    }
    const json& list = doc_.at("workers");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string name = list[i].get<std::string>();
      const std::string at = fmt::format("/workers/{}", i);
      const auto it = index_.find(name);
      if (it == index_.end()) fail(at, fmt::format("worker {} is mapped to no GPU: no element \"{}\"", i, name));
      if (cluster_.elements[it->second].kind != ElementKind::gpu)
        fail(at, fmt::format("worker {} is mapped to \"{}\", a switch, not a GPU", i, name));
      cluster_.worker_gpus.push_back(it->second);
      pointers.push_back(at);
    }
    return pointers;
  }

  const json& doc_;
  const std::string& source_;
  Cluster cluster_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::pair<const json*, LinkSpec>> link_specs_;
};

}  // namespace

double tcp_payload_fraction(int mtu) {
  const double segment = mtu - 52.0, wire = mtu + 38.0, ack = 90.0 / 2;
  return segment / (wire + ack);
}

const GpuModel& Cluster::gpu_model(const Element& gpu) const {
  for (const GpuModel& m : gpu_models)
    if (m.name == gpu.gpu_model) return m;
  return gpu_models.front();
}

std::vector<int> Cluster::workers_on() const {
  std::vector<int> count(elements.size(), 0);
  for (std::size_t g : worker_gpus) ++count[g];
  return count;
}

std::size_t Cluster::gpu_count() const {
  return static_cast<std::size_t>(std::count_if(elements.begin(), elements.end(),
      [](const Element& e) { return e.kind == ElementKind::gpu; }));
}

Cluster parse_cluster(json document, const std::string& source) {
  const json doc = cluster_validator().validate(std::move(document), source);
  return Builder(doc, source).build();
}

Cluster load_cluster(const std::string& reference, const std::filesystem::path& base) {
  if (reference.size() > 5 && reference.ends_with(".json")) {
    const std::filesystem::path path(reference);
    const std::filesystem::path file = path.is_absolute() ? path : base / path;
    return parse_cluster(read_json_file(file), file.string());
  }
  for (const auto& [name, text] : builtin_clusters())
    if (name == reference) return parse_cluster(parse_json_text(text, name), "built-in " + name);
  std::string known;
  for (const auto& [name, text] : builtin_clusters()) known += (known.empty() ? "" : ", ") + name;
  throw InputError("", "", fmt::format("unknown cluster \"{}\"; expected a built-in cluster ({}) "
                                       "or a path ending in .json", reference, known));
}

std::vector<std::string> builtin_cluster_names() {
  std::vector<std::string> out;
  for (const auto& [name, text] : builtin_clusters()) out.push_back(name);
  return out;
}

}  // namespace resist
