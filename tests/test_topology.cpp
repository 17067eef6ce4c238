// Clusters: shipped files, shapes, units, workers, and every kind of bad cluster description.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "input/input_error.hpp"
#include "tests/helpers.hpp"
#include "topology/cluster.hpp"
#include "topology/cluster_tree.hpp"
#include "topology/star_groups.hpp"

using namespace resist;
using nlohmann::json;
using resist::test::input_error;

namespace {

std::string cluster_error(json doc) {
  return input_error([&] { parse_cluster(std::move(doc), "c.json"); });
}

/// The link named `name`, copied (a reference returned from a call that took a temporary string
/// is what GCC 14's -Wdangling-reference warns of).
ClusterLink link(const Cluster& c, const std::string& name) {
  const auto it = std::find_if(c.links.begin(), c.links.end(),
                               [&](const ClusterLink& l) { return l.name == name; });
  REQUIRE(it != c.links.end());
  return *it;
}

/// The index of the element named `name`.
std::size_t element_at(const Cluster& c, const std::string& name) {
  for (std::size_t i = 0; i < c.elements.size(); ++i)
    if (c.elements[i].name == name) return i;
  FAIL("no element " << name);
  return 0;
}

json star(int gpus) {
  return {{"shape", "star"}, {"gpu", "H100"}, {"gpus", gpus},
          {"link", {{"bandwidth", "8Gbps"}, {"latency", "10us"}}}};
}

}  // namespace

TEST_CASE("units") {
  CHECK(parse_bandwidth("8Gbps") == 1e9);
  CHECK(parse_bandwidth("450GBps") == 450e9);
  CHECK(parse_bandwidth("100Mbps") == 12.5e6);
  CHECK(parse_bandwidth("1.5TBps") == 1.5e12);
  CHECK_FALSE(parse_bandwidth("0Gbps"));
  CHECK_FALSE(parse_bandwidth("25 Gbps"));
  CHECK_FALSE(parse_bandwidth("25gbps"));
  CHECK_FALSE(parse_bandwidth("fast"));
  CHECK(parse_latency("5us") == doctest::Approx(5e-6));
  CHECK(parse_latency("1.5ms") == doctest::Approx(1.5e-3));
  CHECK(parse_latency("0s") == 0);
  CHECK(parse_latency("300ns") == doctest::Approx(3e-7));
  CHECK_FALSE(parse_latency("-1us"));
  CHECK_FALSE(parse_latency("5"));
}

TEST_CASE("every shipped cluster loads, built in and from its file") {
  for (const std::string& name : builtin_cluster_names()) {
    CAPTURE(name);
    const Cluster built_in = load_cluster(name, ".");
    const Cluster file = load_cluster(name + ".json", test::source_root() / "scenarios/clusters");
    CHECK(built_in.elements.size() == file.elements.size());
    CHECK(built_in.links.size() == file.links.size());
    CHECK_FALSE(built_in.worker_gpus.empty());
  }
  std::set<std::string> files, built_in;  // every shipped file is built in
  for (const auto& entry : std::filesystem::directory_iterator(test::source_root() / "scenarios/clusters"))
    files.insert(entry.path().stem().string());
  for (const std::string& name : builtin_cluster_names()) built_in.insert(name);
  CHECK(built_in == files);
}

TEST_CASE("shapes expand into elements and links") {
  SUBCASE("the paper's 4x V100: pairwise NVLink") {
    const Cluster c = load_cluster("v100x4-nvlink", ".");
    CHECK(c.gpu_count() == 4);
    CHECK(c.links.size() == 6);
    CHECK(link(c, "nvlink01").bandwidth == 50e9);
    CHECK(link(c, "nvlink01").kind == "nvlink");
  }
  SUBCASE("multi-GPU nodes: intra-node links and one NIC per node") {
    const Cluster c = load_cluster("h100x8-4nodes-100g", ".");
    CHECK(c.gpu_count() == 32);
    CHECK(c.elements.size() == 32 + 4 + 1);
    CHECK(c.links.size() == 32 + 4);
    CHECK(link(c, "node2.nic").bandwidth == 12.5e9);
    CHECK(c.elements[c.worker_gpus[9]].name == "node1.gpu1");
  }
  SUBCASE("a graph: each link its own bandwidth, latency and kind, however many links share values") {
    nlohmann::json doc = {{"name", "chain"}, {"shape", "graph"}, {"elements", nlohmann::json::array()},
                          {"links", nlohmann::json::array()}};
    for (int i = 0; i <= 20; ++i) doc["elements"].push_back({{"name", fmt::format("g{}", i)}, {"type", "gpu"}, {"gpu", "A100"}});
    for (int i = 0; i < 20; ++i)  // 20 sections, some equal in value: read one by one, never mixed up
      doc["links"].push_back({{"name", fmt::format("l{}", i)}, {"between", {fmt::format("g{}", i), fmt::format("g{}", i + 1)}},
                              {"bandwidth", fmt::format("{}Gbps", 8 * (1 + i % 7))}, {"latency", fmt::format("{}us", i)},
                              {"kind", i % 2 ? "ethernet" : "nvlink"}});
    const Cluster c = parse_cluster(doc, "chain.json");
    REQUIRE(c.links.size() == 20);
    for (int i = 0; i < 20; ++i) {
      CAPTURE(i);
      CHECK(c.links[i].bandwidth == 1e9 * (1 + i % 7));
      CHECK(c.links[i].latency == doctest::Approx(i * 1e-6));
      CHECK(c.links[i].kind == (i % 2 ? "ethernet" : "nvlink"));
    }
  }
  SUBCASE("one node needs no NIC") {
    const Cluster c = load_cluster("h100x8-node", ".");
    CHECK(c.elements.size() == 9);
    CHECK(c.links.size() == 8);
  }
  SUBCASE("fat-tree: leaf uplinks summed over the spines") {
    const Cluster c = load_cluster("fattree-1024-25g", ".");
    CHECK(c.gpu_count() == 1024);
    CHECK(link(c, "leaf3-uplinks").bandwidth == 8 * 12.5e9);
    CHECK(link(c, "leaf3.gpu7-link").bandwidth == 25e9 / 8);
  }
  SUBCASE("fat-tree of multi-GPU nodes: each node a switch with its GPUs, its NICs summed to the leaf") {
    const Cluster c = load_cluster("fattree-8192-h100x8-ib", ".");
    CHECK(c.gpu_count() == 8192);
    CHECK(link(c, "leaf31.node31.gpu7-link").bandwidth == 450e9);
    CHECK(link(c, "leaf31.node31.nic").bandwidth == 400e9);  // 3.2 Tb/s
    CHECK(link(c, "leaf0-uplinks").bandwidth == 256 * 50e9);
    const auto d = star_decomposition(c);
    REQUIRE(d);
    CHECK(d->groups.size() == 1024);                  // the node switches
    CHECK(d->backbone_switches.size() == 32 + 1);     // the leaves and the core
    CHECK(d->backbone_links.size() == 1024 + 32);     // the nodes' NICs and the leaves' uplinks
    CHECK(load_cluster("fattree-16384-25g-2to1", ".").gpu_count() == 16384);
  }
  SUBCASE("the shipped 3-level fat-tree: 1:1 at the leaves, 2:1 between pods") {
    const Cluster c = load_cluster("fattree3-32768-h100-400g-ib", ".");
    CHECK(c.gpu_count() == 32768);
    CHECK(link(c, "pod31.leaf31-uplinks").bandwidth == 32 * 50e9);  // = 32 hosts x 400 Gb/s
    CHECK(link(c, "pod31-uplinks").bandwidth == 32 * 16 * 50e9);   // half of 32 leaves x 32 x 400 Gb/s
  }
  SUBCASE("dragonfly: routers linked pairwise in each group, one global link per pair of groups") {
    const Cluster c = parse_cluster({{"shape", "dragonfly"}, {"gpu", "H100"}, {"groups", 5}, {"routers_per_group", 3},
                                     {"gpus_per_router", 2},
                                     {"host_link", {{"bandwidth", "200Gbps"}, {"latency", "1us"}}},
                                     {"local_link", {{"bandwidth", "100Gbps"}, {"latency", "300ns"}}},
                                     {"global_link", {{"bandwidth", "400Gbps"}, {"latency", "2us"}}}},
                                    "d.json");
    CHECK(c.gpu_count() == 5 * 3 * 2);
    CHECK(c.elements.size() == 30 + 15);
    CHECK(c.links.size() == 30 + 5 * 3 + 5 * 4 / 2);
    CHECK(link(c, "group4.router2.gpu1-link").bandwidth == 25e9);
    CHECK(link(c, "group1.router0-router2").bandwidth == 12.5e9);
    CHECK(link(c, "group1.router0-router2").latency == doctest::Approx(300e-9));
    // Each group's global links spread over its routers: group 0 reaches groups 1..4 from routers
    // 0, 1, 2, 0; group 3 reaches group 4 from router 3 mod 3 = 0 and is reached from router i mod 3.
    const auto ends = [&](const std::string& name) {
      const ClusterLink& l = link(c, name);
      return std::pair(c.elements[l.a].name, c.elements[l.b].name);
    };
    CHECK(ends("group0-group1") == std::pair<std::string, std::string>("group0.router0", "group1.router0"));
    CHECK(ends("group0-group3") == std::pair<std::string, std::string>("group0.router2", "group3.router0"));
    CHECK(ends("group0-group4") == std::pair<std::string, std::string>("group0.router0", "group4.router0"));
    CHECK(ends("group2-group4") == std::pair<std::string, std::string>("group2.router0", "group4.router2"));
    CHECK(link(c, "group2-group4").bandwidth == 50e9);
    std::map<std::string, int> global_per_router;
    for (const ClusterLink& l : c.links)
      if (l.name.find("-group") != std::string::npos) {
        ++global_per_router[c.elements[l.a].name];
        ++global_per_router[c.elements[l.b].name];
      }
    for (const auto& [router, n] : global_per_router) {
      CAPTURE(router);
      CHECK(n >= 1);
      CHECK(n <= 2);  // 4 global links per group over 3 routers
    }
    const auto d = star_decomposition(c);
    REQUIRE(d);
    CHECK(d->groups.size() == 15);  // every router with its GPUs
    CHECK(d->backbone_switches.empty());
    CHECK(d->backbone_links.size() == 15 + 10);
    const Cluster shipped = load_cluster("dragonfly-8192-h100-200g", ".");
    CHECK(shipped.gpu_count() == 8192);
    CHECK(shipped.links.size() == 8192 + 32 * 16 * 15 / 2 + 32 * 31 / 2);
  }
  SUBCASE("dragonfly of one group of one router: no local or global link needed") {
    const Cluster c = parse_cluster({{"shape", "dragonfly"}, {"gpu", "H100"}, {"groups", 1}, {"routers_per_group", 1},
                                     {"gpus_per_router", 4}, {"host_link", {{"bandwidth", "200Gbps"}, {"latency", "1us"}}}},
                                    "d.json");
    CHECK(c.links.size() == 4);
  }
  SUBCASE("star and ring") {
    const Cluster s = parse_cluster(star(5), "s.json");
    CHECK(s.links.size() == 5);
    json ring = star(5);
    ring["shape"] = "ring";
    CHECK(parse_cluster(ring, "r.json").links.size() == 5);
    ring["gpus"] = 2;
    CHECK(parse_cluster(ring, "r.json").links.size() == 1);
  }
}

TEST_CASE("workers map onto GPUs; several may share one") {
  json doc = star(2);
  doc["workers"] = {"gpu1", "gpu1", "gpu0"};
  const Cluster c = parse_cluster(doc, "c.json");
  REQUIRE(c.worker_gpus.size() == 3);
  CHECK(c.elements[c.worker_gpus[0]].name == "gpu1");
  CHECK(c.elements[c.worker_gpus[2]].name == "gpu0");
}

TEST_CASE("custom GPU models") {
  json doc = star(2);
  doc["gpu"] = "MI300X";
  doc["gpu_models"] = {{{"name", "MI300X"}, {"peak_tflops", {{"fp16", 1307}}}, {"memory_gib", 192}}};
  const Cluster c = parse_cluster(doc, "c.json");
  const GpuModel& m = c.gpu_model(c.elements[c.worker_gpus[0]]);
  CHECK(m.peak_flops.at(Dtype::fp16) == doctest::Approx(1307e12));
  CHECK_FALSE(m.peak_flops.count(Dtype::fp32));
  CHECK(m.memory_bandwidth == 0);  // not given: compute from FLOPs alone
  CHECK(m.tf32_flops == 0);
  doc["gpu_models"][0]["memory_bandwidth"] = "5.3TBps";
  doc["gpu_models"][0]["peak_tflops"]["fp32"] = 163.4;
  doc["gpu_models"][0]["peak_tflops"]["tf32"] = 653.7;
  const Cluster with = parse_cluster(doc, "c.json");
  const GpuModel& w = with.gpu_model(with.elements[with.worker_gpus[0]]);
  CHECK(w.memory_bandwidth == doctest::Approx(5.3e12));
  CHECK(w.training_flops(Dtype::fp32) == doctest::Approx(653.7e12));  // fp32 convolutions on TF32
  CHECK(w.training_flops(Dtype::fp16) == doctest::Approx(1307e12));
}

TEST_CASE("built-in GPU models: data-sheet rates, TF32 where there is one, and the memory's bandwidth") {
  const Cluster c = parse_cluster(star(2), "c.json");
  const auto model = [&](const char* name) {
    for (const GpuModel& m : c.gpu_models)
      if (m.name == name) return m;
    FAIL("no model " << name);
    return GpuModel{};
  };
  CHECK(model("H100").training_flops(Dtype::fp32) == doctest::Approx(494.7e12));
  CHECK(model("H100").memory_bandwidth == doctest::Approx(3.35e12));
  CHECK(model("H200").memory_bandwidth == doctest::Approx(4.8e12));
  CHECK(model("A100").training_flops(Dtype::fp32) == doctest::Approx(156e12));
  CHECK(model("V100").training_flops(Dtype::fp32) == doctest::Approx(15.7e12));  // no TF32 on Volta
  CHECK(model("V100").memory_bandwidth == doctest::Approx(900e9));
  CHECK(model("CPU-core").training_flops(Dtype::fp32) == doctest::Approx(80e9));
  for (const GpuModel& m : c.gpu_models) {
    CAPTURE(m.name);
    CHECK(m.memory_bandwidth > 0);
  }
}

TEST_CASE("bad clusters: one clear message with file, pointer and element") {
  SUBCASE("a fat-tree's nodes must fill its leaves, and only nodes have an intra fabric") {
    const json fabric = {{"bandwidth", "25Gbps"}, {"latency", "10us"}};
    json doc = {{"shape", "fat_tree"}, {"gpu", "H100"}, {"leaves", 2}, {"gpus_per_leaf", 12}, {"spines", 2},
                {"gpus_per_node", 8}, {"intra", fabric}, {"host_link", fabric}, {"uplink", fabric}};
    CHECK(cluster_error(doc) ==
          "c.json: /gpus_per_node: expected a divisor of gpus_per_leaf (12): a leaf holds whole nodes, found 8");
    doc.erase("gpus_per_node");
    CHECK(cluster_error(doc) == "c.json: /intra: a fat-tree of 1-GPU hosts has no intra-node fabric: set "
                                "gpus_per_node above 1, or remove intra");
    doc["gpus_per_node"] = 4;
    doc.erase("intra");
    CHECK(cluster_error(doc) == "c.json: missing field \"intra\", required by shape \"fat_tree\"");
  }
  SUBCASE("a GPU model's memory bandwidth must be one") {
    json doc = star(2);
    doc["gpu"] = "X";
    doc["gpu_models"] = {{{"name", "X"}, {"peak_tflops", {{"fp32", 1}}}, {"memory_bandwidth", "fast"}}};
    CHECK(cluster_error(doc) ==
          "c.json: /gpu_models/0/memory_bandwidth: expected a bandwidth from 1Bps to 100TBps such as \"3.35TBps\", found \"fast\"");
    doc["gpu_models"][0]["memory_bandwidth"] = "200TBps";
    CHECK(cluster_error(doc).find("/gpu_models/0/memory_bandwidth: expected a bandwidth") != std::string::npos);
  }
  SUBCASE("unknown GPU model") {
    json doc = star(2);
    doc["gpu"] = "K80";
    CHECK(cluster_error(doc).rfind("c.json: /gpu: unknown GPU model \"K80\"; known: V100, A100, H100", 0) == 0);
  }
  SUBCASE("zero or malformed bandwidth") {
    json doc = star(2);
    doc["link"]["bandwidth"] = "0Gbps";
    CHECK(cluster_error(doc) == "c.json: /link/bandwidth: expected a positive bandwidth such as "
                                "\"25Gbps\" or \"450GBps\", found \"0Gbps\"");
    doc["link"]["bandwidth"] = "-5Gbps";
    CHECK(cluster_error(doc).find("found \"-5Gbps\"") != std::string::npos);
  }
  SUBCASE("bad latency") {
    json doc = star(2);
    doc["link"]["latency"] = "soon";
    CHECK(cluster_error(doc) == "c.json: /link/latency: expected a latency such as \"5us\" or "
                                "\"1.5ms\", found \"soon\"");
  }
  SUBCASE("a field the shape needs") {
    json doc = star(2);
    doc.erase("gpus");
    CHECK(cluster_error(doc) == "c.json: missing field \"gpus\", required by shape \"star\"");
    doc = {{"shape", "nodes"}, {"gpu", "H100"}, {"nodes", 2}, {"gpus_per_node", 2},
           {"intra", {{"bandwidth", "1GBps"}, {"latency", "1us"}}}};
    CHECK(cluster_error(doc) == "c.json: missing field \"nic\", required by shape \"nodes\"");
  }
  SUBCASE("unknown shape and unknown fields") {
    json doc = star(2);
    doc["shape"] = "hypercube";
    CHECK(cluster_error(doc).rfind("c.json: /shape: expected one of \"star\", \"nodes\"", 0) == 0);
    doc = star(2);
    doc["link"]["bandwith"] = "1Gbps";
    CHECK(cluster_error(doc).rfind("c.json: /link/bandwith: unknown field \"bandwith\" (did you mean "
                                   "\"bandwidth\"?)", 0) == 0);
  }
  json graph = {{"shape", "graph"},
                {"elements", {{{"name", "a"}, {"type", "gpu"}, {"gpu", "H100"}},
                              {{"name", "b"}, {"type", "gpu"}, {"gpu", "H100"}},
                              {{"name", "c"}, {"type", "gpu"}, {"gpu", "H100"}},
                              {{"name", "sw"}, {"type", "switch"}}}},
                {"links", {{{"name", "ab"}, {"between", {"a", "b"}}, {"bandwidth", "1GBps"}, {"latency", "1us"}}}}};
  SUBCASE("a dangling link") {
    graph["links"].push_back({{"name", "cx"}, {"between", {"c", "x"}}, {"bandwidth", "1GBps"}, {"latency", "1us"}});
    CHECK(cluster_error(graph) == "c.json: /links/1/between/1: link \"cx\" is dangling: no element \"x\"");
  }
  SUBCASE("an unreachable worker, named") {
    CHECK(cluster_error(graph) == "c.json: /elements/2: worker 2 is unreachable: GPU \"c\" has no path "
                                  "of links to worker 0's GPU \"a\"");
    graph["workers"] = {"b", "c"};
    CHECK(cluster_error(graph) == "c.json: /workers/1: worker 1 is unreachable: GPU \"c\" has no path "
                                  "of links to worker 0's GPU \"b\"");
  }
  SUBCASE("workers mapped to no GPU") {
    graph["workers"] = {"a", "sw"};
    CHECK(cluster_error(graph) == "c.json: /workers/1: worker 1 is mapped to \"sw\", a switch, not a GPU");
    graph["workers"] = {"a", "z"};
    CHECK(cluster_error(graph) == "c.json: /workers/1: worker 1 is mapped to no GPU: no element \"z\"");
  }
  SUBCASE("duplicates and self-links") {
    graph["elements"].push_back({{"name", "a"}, {"type", "switch"}});
    CHECK(cluster_error(graph) == "c.json: /elements/4/name: duplicate element \"a\"");
    graph["elements"].erase(4);
    graph["links"].push_back({{"name", "aa"}, {"between", {"a", "a"}}, {"bandwidth", "1GBps"}, {"latency", "1us"}});
    CHECK(cluster_error(graph) == "c.json: /links/1/between: a link must join two different elements");
  }
  SUBCASE("a GPU element without a model") {
    graph["elements"][0].erase("gpu");
    CHECK(cluster_error(graph) == "c.json: /elements/0: missing field \"gpu\" (the GPU's model)");
  }
}

TEST_CASE("bad dragonflies: the field missing, the limits named") {
  json d = {{"shape", "dragonfly"}, {"gpu", "H100"}, {"groups", 4}, {"routers_per_group", 2}, {"gpus_per_router", 2},
            {"host_link", {{"bandwidth", "200Gbps"}, {"latency", "1us"}}},
            {"local_link", {{"bandwidth", "100Gbps"}, {"latency", "300ns"}}},
            {"global_link", {{"bandwidth", "400Gbps"}, {"latency", "2us"}}}};
  CHECK_NOTHROW(parse_cluster(d, "c.json"));
  SUBCASE("no global link between groups") {
    d.erase("global_link");
    CHECK(cluster_error(d) == "c.json: missing field \"global_link\", required by shape \"dragonfly\"");
  }
  SUBCASE("no local link between routers") {
    d.erase("local_link");
    CHECK(cluster_error(d) == "c.json: missing field \"local_link\", required by shape \"dragonfly\"");
  }
  SUBCASE("too many GPUs") {
    d["groups"] = 1000;
    d["routers_per_group"] = 100;
    CHECK(cluster_error(d) == "c.json: /gpus_per_router: 200000 GPUs (groups x routers_per_group x gpus_per_router) is "
                              "above the limit of 65536");
  }
  SUBCASE("too many links") {
    d["groups"] = 2;
    d["routers_per_group"] = 2000;
    d["gpus_per_router"] = 1;
    CHECK(cluster_error(d) == "c.json: /routers_per_group: 4002001 links (the GPUs', every group's routers pairwise, every "
                              "pair of groups) is above the limit of 1000000");
  }
  SUBCASE("a bad global bandwidth") {
    d["global_link"]["bandwidth"] = "fast";
    CHECK(cluster_error(d) == "c.json: /global_link/bandwidth: expected a positive bandwidth such as \"25Gbps\" or "
                              "\"450GBps\", found \"fast\"");
  }
}

namespace {

/// Two leaves of 32 1-GPU hosts at 25 Gb/s (800 Gb/s down per leaf), 100 Gb/s uplinks.
json leaves_of_25g() {
  return {{"shape", "fat_tree"}, {"gpu", "A100"}, {"leaves", 2}, {"gpus_per_leaf", 32},
          {"host_link", {{"bandwidth", "25Gbps"}, {"latency", "10us"}}},
          {"uplink", {{"bandwidth", "100Gbps"}, {"latency", "2us"}}}};
}

/// Pods of leaves of 4 GPUs at 25 Gb/s, 2 spines per pod with 100 Gb/s uplinks, 200 Gb/s core links.
json three_levels(int pods, int leaves) {
  json doc = leaves_of_25g();
  doc["levels"] = 3;
  doc["pods"] = pods;
  doc["leaves"] = leaves;
  doc["gpus_per_leaf"] = 4;
  doc["spines"] = 2;
  doc["core_uplinks"] = 1;
  doc["core_link"] = {{"bandwidth", "200Gbps"}, {"latency", "3us"}};
  return doc;
}

}  // namespace

TEST_CASE("a fat-tree's oversubscription sets its spines, or must agree with them") {
  json doc = leaves_of_25g();
  SUBCASE("2:1 over 100 Gb/s uplinks is 4 spines: the leaf's uplinks carry 400 Gb/s") {
    doc["oversubscription"] = 2;
    const Cluster c = parse_cluster(doc, "c.json");
    CHECK(link(c, "leaf1-uplinks").bandwidth == 4 * 12.5e9);
    doc["spines"] = 4;  // both, agreeing
    CHECK(link(parse_cluster(doc, "c.json"), "leaf1-uplinks").bandwidth == 4 * 12.5e9);
    doc.erase("oversubscription");  // the same network written with spines alone
    const Cluster same = parse_cluster(doc, "c.json");
    REQUIRE(same.links.size() == c.links.size());
    for (std::size_t i = 0; i < c.links.size(); ++i) CHECK(same.links[i].bandwidth == c.links[i].bandwidth);
  }
  SUBCASE("a ratio that needs part of a spine names the whole numbers around it") {
    doc["oversubscription"] = 3;
    CHECK(cluster_error(doc) == "c.json: /oversubscription: 3:1 needs 2.667 spines of 100 Gb/s per leaf (800 Gb/s "
                                "down), not a whole number: 2 give 4:1, 3 give 2.667:1; set spines instead, or a "
                                "ratio they make");
    doc["oversubscription"] = 16;
    CHECK(cluster_error(doc) == "c.json: /oversubscription: 16:1 needs 0.5 spines of 100 Gb/s per leaf (800 Gb/s "
                                "down), not a whole number: 1 give 8:1; set spines instead, or a ratio they make");
  }
  SUBCASE("spines and a ratio that disagree") {
    doc["oversubscription"] = 3;
    doc["spines"] = 4;
    CHECK(cluster_error(doc) == "c.json: /oversubscription: 4 spines of 100 Gb/s per leaf make 2:1 (800 Gb/s down, "
                                "400 Gb/s up), not 3:1");
  }
  SUBCASE("neither, a ratio below 1, or one that needs more spines than a cluster may have") {
    CHECK(cluster_error(doc) == "c.json: missing field \"spines\" (or \"oversubscription\"), required by shape \"fat_tree\"");
    doc["oversubscription"] = 0.5;
    CHECK(cluster_error(doc).rfind("c.json: /oversubscription: ", 0) == 0);
    doc["oversubscription"] = 1;
    doc["uplink"]["bandwidth"] = "1kbps";
    CHECK(cluster_error(doc) == "c.json: /oversubscription: 1:1 needs 8e+08 spines of 1e-06 Gb/s per leaf, above the "
                                "limit of 65536");
  }
}

TEST_CASE("a 3-level fat-tree: pods of leaves, each pod's spines one switch linked to the core") {
  SUBCASE("elements and summed links") {
    const Cluster c = parse_cluster(three_levels(2, 2), "c.json");
    CHECK(c.gpu_count() == 16);
    CHECK(c.elements[c.worker_gpus[15]].name == "pod1.leaf1.gpu3");
    CHECK(link(c, "pod1.leaf1.gpu3-link").bandwidth == 25e9 / 8);
    const ClusterLink& leaf = link(c, "pod1.leaf0-uplinks");
    CHECK(leaf.bandwidth == 2 * 12.5e9);  // 2 spines x 100 Gb/s
    CHECK(c.elements[leaf.b].name == "pod1.spines");
    const ClusterLink& pod = link(c, "pod1-uplinks");
    CHECK(pod.bandwidth == 2 * 1 * 25e9);  // 2 spines x 1 core uplink x 200 Gb/s
    CHECK(c.elements[pod.a].name == "pod1.spines");
    CHECK(c.elements[pod.b].name == "core");
    CHECK(pod.latency == doctest::Approx(3e-6));
    CHECK(c.links.size() == 16 + 4 + 2);
    const auto d = star_decomposition(c);
    REQUIRE(d);
    CHECK(d->groups.size() == 4);              // the leaves
    CHECK(d->backbone_switches.size() == 3);   // the pods' spines and the core
    CHECK(d->backbone_links.size() == 4 + 2);  // the leaves' and the pods' uplinks
  }
  SUBCASE("multi-GPU nodes under the pods' leaves") {
    json doc = three_levels(2, 2);
    doc["gpus_per_node"] = 2;
    doc["intra"] = {{"bandwidth", "450GBps"}, {"latency", "1us"}};
    const Cluster c = parse_cluster(doc, "c.json");
    CHECK(c.elements[c.worker_gpus[15]].name == "pod1.leaf1.node1.gpu1");
    CHECK(link(c, "pod0.leaf0.node1.nic").bandwidth == 25e9 / 8);
  }
  SUBCASE("the pod level's oversubscription sets the core uplinks, or must agree with them") {
    json doc = three_levels(2, 4);  // a pod spine: 4 leaves x 100 Gb/s down
    doc.erase("core_uplinks");
    doc["pod_oversubscription"] = 2;  // 200 Gb/s up: 1 core link
    CHECK(link(parse_cluster(doc, "c.json"), "pod0-uplinks").bandwidth == 2 * 25e9);
    doc["core_uplinks"] = 2;
    CHECK(cluster_error(doc) == "c.json: /pod_oversubscription: 2 core_uplinks of 200 Gb/s per spine make 1:1 (400 "
                                "Gb/s down, 400 Gb/s up), not 2:1");
    doc.erase("core_uplinks");
    doc["pod_oversubscription"] = 3;
    CHECK(cluster_error(doc) == "c.json: /pod_oversubscription: 3:1 needs 0.6667 core_uplinks of 200 Gb/s per spine "
                                "(400 Gb/s down), not a whole number: 1 give 2:1; set core_uplinks instead, or a ratio "
                                "they make");
  }
  SUBCASE("what a 3-level tree needs, and what only it may have") {
    json doc = three_levels(2, 2);
    doc.erase("core_link");
    CHECK(cluster_error(doc) == "c.json: missing field \"core_link\", required by shape \"fat_tree\"");
    doc = three_levels(2, 2);
    doc.erase("core_uplinks");
    CHECK(cluster_error(doc) ==
          "c.json: missing field \"core_uplinks\" (or \"pod_oversubscription\"), required by shape \"fat_tree\"");
    doc = three_levels(2, 2);
    doc.erase("pods");
    CHECK(cluster_error(doc) == "c.json: missing field \"pods\", required by shape \"fat_tree\"");
    doc = three_levels(1024, 64);
    doc["gpus_per_leaf"] = 2;
    CHECK(cluster_error(doc) ==
          "c.json: /gpus_per_leaf: 131072 GPUs (pods x leaves x gpus_per_leaf) is above the limit of 65536");
    doc = three_levels(2, 2);
    doc["levels"] = 4;
    CHECK(cluster_error(doc).rfind("c.json: /levels: expected one of 2, 3", 0) == 0);
    for (const char* key : {"pods", "core_uplinks", "core_link", "pod_oversubscription"}) {
      CAPTURE(key);
      json two = leaves_of_25g();
      two["spines"] = 4;
      two[key] = key == std::string("core_link") ? json{{"bandwidth", "1Gbps"}, {"latency", "1us"}} : json(2);
      CHECK(cluster_error(two) ==
            fmt::format("c.json: /{0}: only a 3-level fat-tree has {0}: set levels to 3, or remove it", key));
    }
  }
}

TEST_CASE("a link with a TCP transport carries data at the share its frames leave, by MTU") {
  CHECK(tcp_payload_fraction(1500) == doctest::Approx(1448.0 / (1538 + 45)));
  CHECK(tcp_payload_fraction(1500) == doctest::Approx(0.9147).epsilon(1e-4));
  CHECK(tcp_payload_fraction(9000) == doctest::Approx(0.9851).epsilon(1e-4));
  json doc = star(2);
  doc["link"]["kind"] = "ethernet";
  CHECK(parse_cluster(doc, "c.json").links[0].payload_fraction() == 1);  // no transport named: as given
  CHECK(parse_cluster(doc, "c.json").links[0].mtu == 0);
  doc["link"]["transport"] = "tcp";
  const Cluster c = parse_cluster(doc, "c.json");
  for (const ClusterLink& l : c.links) {
    CHECK(l.mtu == 1500);
    CHECK(l.payload_fraction() == doctest::Approx(tcp_payload_fraction(1500)));
  }
  doc["link"]["mtu"] = 9000;
  CHECK(parse_cluster(doc, "c.json").links[1].payload_fraction() == doctest::Approx(tcp_payload_fraction(9000)));
  doc["link"]["mtu"] = 100;
  CHECK(cluster_error(doc).find("c.json: /link/mtu") == 0);
  doc["link"].erase("transport");
  doc["link"]["mtu"] = 1500;
  CHECK(cluster_error(doc) ==
        "c.json: /link/mtu: only a link with \"transport\": \"tcp\" has frames to size: set transport, or remove mtu");
  doc["link"]["transport"] = "tcp";
  doc["link"]["kind"] = "infiniband";
  CHECK(cluster_error(doc) ==
        "c.json: /link/transport: TCP here is TCP over Ethernet frames; expected kind \"ethernet\", found \"infiniband\"");
  doc["link"]["kind"] = "ethernet";
  doc["link"]["transport"] = "udp";
  CHECK(cluster_error(doc).find("c.json: /link/transport") == 0);
}

TEST_CASE("cluster references") {
  CHECK(input_error([] { load_cluster("dgx9", "."); }) ==
        "unknown cluster \"dgx9\"; expected a built-in cluster (v100x4-nvlink, v100x8-nvlink, v100x4-nodes-10g, v100x4-4nodes-10g, h100x8-node, "
        "h100x8-4nodes-100g, fattree-1024-25g, fattree-8192-h100x8-ib, fattree-16384-25g-2to1, dragonfly-8192-h100-200g, "
        "fattree3-32768-h100-400g-ib, cpu-local, cpu-4hosts-100m) or a path ending in .json");
  CHECK(input_error([] { load_cluster("nope.json", "/tmp"); }) ==
        "/tmp/nope.json: cannot open file (does it exist?)");
}

TEST_CASE("numbers that cannot describe a cluster are refused with the limit") {
  // Was a hang: a cluster with a billion GPUs per node was built element by element.
  json nodes = {{"shape", "nodes"}, {"gpu", "H100"}, {"nodes", 2}, {"gpus_per_node", 1000000000},
                {"intra", {{"kind", "nvlink"}, {"bandwidth", "450GBps"}, {"latency", "1us"}}},
                {"nic", {{"kind", "ethernet"}, {"bandwidth", "25Gbps"}, {"latency", "5us"}}}};
  CHECK(cluster_error(nodes) == "c.json: /gpus_per_node: 1000000000 is above the limit of 65536");
  nodes["gpus_per_node"] = 65536;  // each within its limit, the product is not
  CHECK(cluster_error(nodes) == "c.json: /gpus_per_node: 131072 GPUs (nodes x gpus_per_node) is above the limit of 65536");
  // Was a SimGrid abort: "1e400Gbps" read as infinity.
  json s = star(2);
  s["link"]["bandwidth"] = "1e400Gbps";
  CHECK(cluster_error(s) == "c.json: /link/bandwidth: \"1e400Gbps\" is above the limit of 100TBps");
  s["link"]["bandwidth"] = "infGbps";
  CHECK(cluster_error(s) == "c.json: /link/bandwidth: \"infGbps\" is above the limit of 100TBps");
  s["link"]["bandwidth"] = "8Gbps";
  s["link"]["latency"] = "2e9s";
  CHECK(cluster_error(s) == "c.json: /link/latency: \"2e9s\" is above the limit of 3600s");
  CHECK_FALSE(parse_latency("nans"));
  CHECK_FALSE(parse_bandwidth("nanGbps"));
}

TEST_CASE("a cluster's price: read when given, validated, absent otherwise") {
  CHECK_FALSE(parse_cluster(star(2), "c.json").price);
  json doc = star(2);
  doc["price"] = {{"gpu_hour", 2.5}, {"network_gb", 0.01}, {"currency", "USD"}, {"as_of", "2026-11"},
                  {"source", "a price page"}};
  const Cluster c = parse_cluster(doc, "c.json");
  REQUIRE(c.price);
  CHECK(c.price->gpu_hour == 2.5);
  CHECK(c.price->network_gb == 0.01);
  CHECK(c.price->currency == "USD");
  CHECK(c.price->as_of == "2026-11");
  CHECK(c.price->source == "a price page");
  doc["price"].erase("network_gb");
  CHECK(parse_cluster(doc, "c.json").price->network_gb == 0);
  doc["price"]["currency"] = "dollars";
  CHECK(cluster_error(doc) == "c.json: /price/currency: expected a string matching ^[A-Z]{3}$, found \"dollars\"");
  doc["price"]["currency"] = "EUR";
  doc["price"]["as_of"] = "last year";
  CHECK(cluster_error(doc) == "c.json: /price/as_of: expected a string matching ^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$, found \"last year\"");
  doc["price"]["as_of"] = "2026-11-02";
  doc["price"]["gpu_hour"] = 0;
  CHECK(cluster_error(doc).rfind("c.json: /price/gpu_hour: ", 0) == 0);
  doc["price"]["gpu_hour"] = 1;
  doc["price"].erase("as_of");
  CHECK(cluster_error(doc) == "c.json: /price: missing required field \"as_of\"");
}

TEST_CASE("star groups: a switch with the GPUs that hang on it alone; the switches between them") {
  SUBCASE("the shipped fat-tree: 32 leaves of 32 GPUs, each leaf's uplinks to the spines as one link to the core") {
    const Cluster c = load_cluster("fattree-1024-25g", ".");
    const auto d = star_decomposition(c);
    REQUIRE(d);
    REQUIRE(d->groups.size() == 32);
    std::set<std::size_t> gpus;
    for (const StarGroup& g : d->groups) {
      CHECK(c.elements[g.hub].kind == ElementKind::switch_);
      REQUIRE(g.gpus.size() == 32);
      for (std::size_t i = 0; i < g.gpus.size(); ++i) {
        const ClusterLink& l = c.links[g.links[i]];
        CHECK(((l.a == g.gpus[i] && l.b == g.hub) || (l.b == g.gpus[i] && l.a == g.hub)));
        gpus.insert(g.gpus[i]);
      }
      CHECK(d->group_of_switch[g.hub] == &g - d->groups.data());
    }
    CHECK(gpus.size() == 1024);
    CHECK(d->backbone_switches.size() == 1);
    CHECK(d->backbone_links.size() == 32);
    for (std::size_t s : d->backbone_switches) CHECK(d->group_of_switch[s] == -1);
  }
  SUBCASE("nodes: one group per node switch; the network switch and the NICs are the backbone") {
    const Cluster c = load_cluster("h100x8-4nodes-100g", ".");
    const auto d = star_decomposition(c);
    REQUIRE(d);
    CHECK(d->groups.size() == 4);
    CHECK(d->backbone_switches.size() == 1);
    CHECK(d->backbone_links.size() == 4);
    const auto one = star_decomposition(load_cluster("h100x8-node", "."));
    REQUIRE(one);
    CHECK(one->groups.size() == 1);
    CHECK(one->backbone_links.empty());
  }
  SUBCASE("GPUs linked to each other, or to two switches, are not stars") {
    CHECK_FALSE(star_decomposition(load_cluster("v100x4-nvlink", ".")));
    const auto gpu = [](const char* name) { return json{{"name", name}, {"type", "gpu"}, {"gpu", "H100"}}; };
    const auto wire = [](const char* name, const char* a, const char* b) {
      return json{{"name", name}, {"between", {a, b}}, {"bandwidth", "1GBps"}, {"latency", "1us"}};
    };
    json doc = {{"shape", "graph"},
                {"elements", {gpu("g0"), gpu("g1"), {{"name", "s0"}, {"type", "switch"}}, {{"name", "s1"}, {"type", "switch"}}}},
                {"links", {wire("g0s0", "g0", "s0"), wire("g1s0", "g1", "s0"), wire("g1s1", "g1", "s1")}}};
    CHECK_FALSE(star_decomposition(parse_cluster(doc, "c.json")));
    doc["links"].erase(2);
    CHECK(star_decomposition(parse_cluster(doc, "c.json")));
  }
}

TEST_CASE("tree-shaped clusters: the one path between two elements, up to their lowest common switch and down") {
  const auto names = [](const Cluster& c, std::size_t from, std::size_t to) {
    const ClusterTree t = cluster_tree(c).value();
    std::vector<PathStep> steps;
    tree_path(t, c, from, to, steps);
    std::vector<std::string> out;
    for (const PathStep& s : steps) out.push_back(c.links[s.link].name + (s.forward ? " >" : " <"));
    return out;
  };
  const auto index = element_at;
  SUBCASE("a 3-level fat-tree: across pods, within a pod, on one leaf, to itself") {
    const Cluster c = parse_cluster(three_levels(2, 2), "c.json");
    const std::size_t a = index(c, "pod0.leaf0.gpu0");
    CHECK(names(c, a, index(c, "pod1.leaf1.gpu3")) ==
          std::vector<std::string>{"pod0.leaf0.gpu0-link >", "pod0.leaf0-uplinks >", "pod0-uplinks >",
                                   "pod1-uplinks <", "pod1.leaf1-uplinks <", "pod1.leaf1.gpu3-link <"});
    CHECK(names(c, index(c, "pod1.leaf1.gpu3"), a) ==
          std::vector<std::string>{"pod1.leaf1.gpu3-link >", "pod1.leaf1-uplinks >", "pod1-uplinks >",
                                   "pod0-uplinks <", "pod0.leaf0-uplinks <", "pod0.leaf0.gpu0-link <"});
    CHECK(names(c, a, index(c, "pod0.leaf1.gpu0")) ==
          std::vector<std::string>{"pod0.leaf0.gpu0-link >", "pod0.leaf0-uplinks >", "pod0.leaf1-uplinks <",
                                   "pod0.leaf1.gpu0-link <"});
    CHECK(names(c, a, index(c, "pod0.leaf0.gpu2")) ==
          std::vector<std::string>{"pod0.leaf0.gpu0-link >", "pod0.leaf0.gpu2-link <"});
    CHECK(names(c, a, a).empty());
    CHECK(names(c, a, index(c, "core")) ==
          std::vector<std::string>{"pod0.leaf0.gpu0-link >", "pod0.leaf0-uplinks >", "pod0-uplinks >"});
  }
  SUBCASE("every generated star, nodes and fat-tree shape is a tree; rings of 3 and more and dragonflies are not") {
    for (const char* name : {"v100x4-nodes-10g", "h100x8-node", "h100x8-4nodes-100g", "fattree-1024-25g",
                             "fattree-8192-h100x8-ib", "fattree3-32768-h100-400g-ib", "cpu-local"}) {
      CAPTURE(name);
      const Cluster c = load_cluster(name, ".");
      const auto t = cluster_tree(c);
      REQUIRE(t);
      std::size_t roots = 0;
      for (std::size_t e = 0; e < c.elements.size(); ++e) roots += t->parent[e] == ClusterTree::kNone;
      CHECK(roots == 1);
    }
    CHECK(cluster_tree(parse_cluster(star(3), "c.json")));
    json ring = star(2);
    ring["shape"] = "ring";
    CHECK(cluster_tree(parse_cluster(ring, "c.json")));  // two GPUs, one link
    ring["gpus"] = 3;
    CHECK_FALSE(cluster_tree(parse_cluster(ring, "c.json")));
    CHECK_FALSE(cluster_tree(load_cluster("dragonfly-8192-h100-200g", ".")));
    CHECK_FALSE(cluster_tree(load_cluster("v100x4-nvlink", ".")));
  }
  SUBCASE("n - 1 links that are not a tree: two links between the same elements, a switch no link reaches") {
    json doc = {{"shape", "graph"},
                {"elements", {{{"name", "g0"}, {"type", "gpu"}, {"gpu", "H100"}}, {{"name", "g1"}, {"type", "gpu"}, {"gpu", "H100"}},
                              {{"name", "s0"}, {"type", "switch"}}, {{"name", "s1"}, {"type", "switch"}}}},
                {"links", {{{"name", "a"}, {"between", {"g0", "s0"}}, {"bandwidth", "1Gbps"}, {"latency", "1us"}},
                           {{"name", "b"}, {"between", {"g1", "s0"}}, {"bandwidth", "1Gbps"}, {"latency", "1us"}},
                           {{"name", "c"}, {"between", {"g0", "s0"}}, {"bandwidth", "1Gbps"}, {"latency", "1us"}}}}};
    CHECK_FALSE(cluster_tree(parse_cluster(doc, "c.json")));
    doc["links"][2]["between"] = {"s1", "s0"};  // now a tree
    CHECK(cluster_tree(parse_cluster(doc, "c.json")));
  }
}

namespace {

json torus(std::vector<int> dims) {
  return {{"shape", "torus"}, {"gpu", "H100"}, {"dimensions", dims}, {"link", {{"bandwidth", "400Gbps"}, {"latency", "1us"}}}};
}

std::vector<std::string> torus_route(const Cluster& c, const std::string& from, const std::string& to) {
  std::vector<PathStep> steps;
  torus_path(cluster_torus(c).value(), c, element_at(c, from), element_at(c, to), steps);
  std::vector<std::string> out;
  for (const PathStep& s : steps) out.push_back(c.links[s.link].name + (s.forward ? " >" : " <"));
  return out;
}

}  // namespace

TEST_CASE("a torus: GPUs linked to their neighbours along each dimension, routed dimension by dimension") {
  SUBCASE("elements, links, wrap-around, and one link where a dimension has two GPUs") {
    const Cluster c = parse_cluster(torus({4, 3}), "t.json");
    REQUIRE(c.gpu_count() == 12);
    CHECK(c.elements[5].name == "gpu1.1");
    CHECK(c.links.size() == 12 + 12);
    CHECK(link(c, "gpu3.0-gpu0.0").bandwidth == 50e9);
    CHECK(link(c, "gpu1.2-gpu1.0").latency == doctest::Approx(1e-6));
    CHECK(c.torus_dimensions == std::vector<int>{4, 3});
    CHECK(parse_cluster(torus({2, 2}), "t.json").links.size() == 4);
    CHECK(parse_cluster(torus({5}), "t.json").links.size() == 5);
    CHECK(parse_cluster(torus({1}), "t.json").links.empty());
    CHECK_FALSE(cluster_torus(load_cluster("fattree-1024-25g", ".")));
  }
  SUBCASE("routes: the shorter way round each dimension in turn, the next GPU's way on a tie") {
    const Cluster c = parse_cluster(torus({4, 3}), "t.json");
    CHECK(torus_route(c, "gpu0.0", "gpu3.2") == std::vector<std::string>{"gpu3.0-gpu0.0 <", "gpu3.2-gpu3.0 <"});
    CHECK(torus_route(c, "gpu0.0", "gpu2.1") ==
          std::vector<std::string>{"gpu0.0-gpu1.0 >", "gpu1.0-gpu2.0 >", "gpu2.0-gpu2.1 >"});
    CHECK(torus_route(c, "gpu2.1", "gpu0.0") ==
          std::vector<std::string>{"gpu2.1-gpu3.1 >", "gpu3.1-gpu0.1 >", "gpu0.0-gpu0.1 <"});
    CHECK(torus_route(c, "gpu1.1", "gpu1.1").empty());
    const Cluster two = parse_cluster(torus({2, 2}), "t.json");
    CHECK(torus_route(two, "gpu1.0", "gpu0.0") == std::vector<std::string>{"gpu0.0-gpu1.0 <"});
    CHECK(torus_route(two, "gpu0.0", "gpu1.1") == std::vector<std::string>{"gpu0.0-gpu1.0 >", "gpu1.0-gpu1.1 >"});
  }
  SUBCASE("bad tori") {
    CHECK(cluster_error(torus({256, 256, 2})) ==
          "c.json: /dimensions: 131072 GPUs (the dimensions' product) is above the limit of 65536");
    CHECK(cluster_error(torus({2, 2, 2, 2, 2})).rfind("c.json: /dimensions: expected at most 4 items", 0) == 0);
    CHECK(cluster_error(torus({4, 0})).rfind("c.json: /dimensions/1: ", 0) == 0);
    json no_link = torus({4});
    no_link.erase("link");
    CHECK(cluster_error(no_link) == "c.json: missing field \"link\", required by shape \"torus\"");
  }
}
