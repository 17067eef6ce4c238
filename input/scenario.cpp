#include "input/scenario.hpp"

#include <cmath>

#include <fmt/format.h>

#include "model/catalogue.hpp"
#include "model/enum_names.hpp"
#include "model/stages.hpp"
#include "input/embedded.hpp"
#include "input/input_error.hpp"
#include "input/json_file.hpp"
#include "input/schema.hpp"

namespace resist {
namespace {

using nlohmann::json;

constexpr EnumNames<StrategyKind, 5> kStrategyNames({{
    {StrategyKind::data_parallel, "data_parallel"}, {StrategyKind::local_sgd, "local_sgd"},
    {StrategyKind::resist, "resist"}, {StrategyKind::ist, "ist"},
    {StrategyKind::layer_parallel, "layer_parallel"}}});

constexpr EnumNames<Algorithm, 6> kAlgorithmNames({{
    {Algorithm::none, "none"}, {Algorithm::ring, "ring"}, {Algorithm::tree, "tree"},
    {Algorithm::direct, "direct"}, {Algorithm::hierarchical_ring, "hierarchical_ring"},
    {Algorithm::double_tree, "double_tree"}}});

const SchemaValidator& scenario_validator() {
  static const SchemaValidator validator(
      parse_json_text(scenario_schema_text(), "scenario.schema.json (built in)"));
  return validator;
}

std::int64_t dataset_size(const std::string& dataset) {
  if (dataset == "cifar10" || dataset == "cifar100") return 50'000;
  if (dataset == "fashion_mnist") return 60'000;
  if (dataset == "imagenet") return 1'281'167;
  return 0;
}

ModelSpec read_model(const json& m) {
  ModelSpec spec;
  spec.arch = m.at("arch").get<std::string>();
  spec.classes = m.at("classes").get<int>();
  const auto input = m.at("input").get<std::vector<int>>();
  spec.input = {input[0], input[1], input[2]};
  spec.width = m.at("width").get<double>();
  if (m.contains("depths")) spec.depths = m.at("depths").get<std::vector<int>>();
  if (m.contains("hidden")) spec.hidden = m.at("hidden").get<std::vector<int>>();
  return spec;
}

Scenario read_fields(const json& doc, const std::string& source) {
  Scenario s;
  s.source = source;
  s.name = doc.value("name", std::string());
  s.model = read_model(doc.at("model"));
  s.dataset = doc.at("data").at("dataset").get<std::string>();
  s.train_samples = doc.at("data").value("train_samples", dataset_size(s.dataset));
  const json& st = doc.at("strategy");
  s.strategy.kind = *parse_strategy(st.at("name").get<std::string>());
  s.strategy.workers = st.at("workers").get<int>();
  s.strategy.local_iterations = st.at("local_iterations").get<int>();
  s.strategy.min_depth = st.at("min_depth").get<int>();
  s.strategy.seed = st.at("seed").get<std::uint64_t>();
  s.strategy.warmup_rounds = st.at("warmup_rounds").get<int>();
  const json& lp = st.at("layer_parallel");
  s.strategy.layer_parallel.cuts = lp.at("cuts").get<std::vector<std::string>>();
  s.strategy.layer_parallel.balance = lp.at("balance").get<std::string>();
  s.strategy.layer_parallel.aux_steps = lp.at("aux_steps").get<int>();
  s.strategy.layer_parallel.serial_epochs = lp.at("serial_epochs").get<double>();
  s.strategy.layer_parallel.method = lp.at("method").get<std::string>();
  s.strategy.layer_parallel.beta = lp.at("beta").get<double>();
  s.strategy.layer_parallel.beta_growth = lp.at("beta_growth").get<double>();
  s.strategy.layer_parallel.aux_width = lp.at("aux_width").get<int>();
  s.strategy.layer_parallel.aux_depth = lp.at("aux_depth").get<int>();
  if (lp.contains("aux_learning_rate")) s.strategy.layer_parallel.aux_learning_rate = lp.at("aux_learning_rate").get<double>();
  const json& tr = doc.at("training");
  s.training.batch_size = tr.at("batch_size").get<int>();
  if (tr.contains("epochs")) s.training.epochs = tr.at("epochs").get<double>();
  if (tr.contains("rounds")) s.training.rounds = tr.at("rounds").get<std::uint64_t>();
  s.training.dtype = *parse_dtype(tr.at("dtype").get<std::string>());
  const std::string layout = tr.at("memory_format").get<std::string>();  // the schema's enum
  s.training.memory_format = layout == "channels_last" ? MemoryFormat::channels_last
                             : layout == "contiguous"  ? MemoryFormat::contiguous
                                                       : MemoryFormat::automatic;
  s.training.cuda_graphs = tr.at("cuda_graphs").get<bool>();
  s.training.learning_rate = tr.at("learning_rate").get<double>();
  s.training.momentum = tr.at("momentum").get<double>();
  s.training.weight_decay = tr.at("weight_decay").get<double>();
  s.training.lr_steps = tr.at("lr_steps").get<std::vector<double>>();
  s.training.lr_gamma = tr.at("lr_gamma").get<double>();
  const json& co = doc.at("collectives");
  s.collectives.allreduce = *parse_algorithm(co.at("allreduce").get<std::string>());
  s.collectives.reduce = *parse_algorithm(co.at("reduce").get<std::string>());
  s.collectives.broadcast = *parse_algorithm(co.at("broadcast").get<std::string>());
  s.cluster = doc.value("cluster", std::string());
  const json& sim = doc.at("sim");
  s.sim.efficiency = sim.at("efficiency").get<double>();
  s.sim.network_model = sim.at("network_model").get<std::string>();
  s.sim.collectives = sim.at("collectives").get<std::string>();
  s.sim.coarse_above = sim.at("coarse_above").get<int>();
  s.sim.routing = sim.at("routing").get<std::string>();
  s.sim.iteration_overhead_s = sim.at("iteration_overhead_s").get<double>();
  s.sim.bandwidth_scale = sim.at("bandwidth_scale").get<double>();
  s.sim.shared_link_efficiency = sim.at("shared_link_efficiency").get<double>();
  for (const auto& [kind, seconds] : sim.at("op_overhead_s").items())
    s.sim.op_overhead_s[kind] = seconds.get<double>();
  if (sim.contains("cost_table"))
    s.sim.cost_table = (s.folder() / sim.at("cost_table").get<std::string>()).lexically_normal().string();
  s.sim.cost_scale = sim.at("cost_scale").get<double>();
  s.document = doc;
  return s;
}

void check_length(const Scenario& s) {
  const auto& t = s.training;
  if (t.epochs.has_value() == t.rounds.has_value())
    throw InputError(s.source, "/training",
                     t.epochs ? "expected either \"epochs\" or \"rounds\", found both"
                              : "expected \"epochs\" or \"rounds\", found neither");
  if (t.epochs && s.train_samples == 0)
    throw InputError(s.source, "/data/train_samples",
                     fmt::format("required for dataset \"{}\" when training.epochs is set",
                                 s.dataset));
  if (t.epochs) {  // the rounds they make, in floating point (no overflow), against the limit
    const double rounds = std::ceil(*t.epochs * static_cast<double>(s.train_samples) / s.samples_per_round());
    if (rounds > static_cast<double>(kMaxRounds))
      throw InputError(s.source, "/training/epochs",
                       fmt::format("{:.15g} epochs of {} samples are {:.0f} rounds, above the limit of {}", *t.epochs,
                                   s.train_samples, rounds, kMaxRounds));
  }
  for (std::size_t i = 1; i < t.lr_steps.size(); ++i)
    if (t.lr_steps[i] <= t.lr_steps[i - 1])
      throw InputError(s.source, fmt::format("/training/lr_steps/{}", i),
                       fmt::format("expected epochs in ascending order, found {} after {}",
                                   t.lr_steps[i], t.lr_steps[i - 1]));
  if (!t.lr_steps.empty() && s.train_samples == 0)
    throw InputError(s.source, "/data/train_samples",
                     fmt::format("required for dataset \"{}\" when training.lr_steps is set "
                                 "(steps are in epochs)", s.dataset));
}

Network checked_network(const Scenario& s) {
  Network net;
  try {
    net = build_network(s.model);
  } catch (const ModelError& e) {
    throw InputError(s.source, "/model/" + e.field(), e.what());
  }
  // Each stride-2 stage halves the image: smaller inputs than the total downsampling collapse to
  // 1x1 early, which no training can use.
  int downsampling = 1;
  for (const Block& b : net.blocks) downsampling *= b.stride;
  const int height = s.model.input[1], width = s.model.input[2];
  if (height < downsampling || width < downsampling)
    throw InputError(s.source, "/model/input",
                     fmt::format("{}x{} images are too small for {}, which downsamples by {}: expected at least {}x{}",
                                 height, width, s.model.arch, downsampling, downsampling, downsampling));
  return net;
}

void check_resist(const Scenario& s, const Network& net) {
  if (net.is_mlp())
    throw InputError(s.source, "/model/arch",
                     "strategy resist partitions ResNet blocks; expected a ResNet, found mlp");
  const auto partitioned = static_cast<int>(net.partitionable_blocks().size());
  if (partitioned == 0)
    throw InputError(s.source, s.model.depths.empty() ? "/model/arch" : "/model/depths/2",
                     "expected at least one non-strided block in the third stage to partition, "
                     "found none (the third stage needs 2 or more blocks)");
  if (s.strategy.min_depth > partitioned)
    throw InputError(s.source, "/strategy/min_depth",
                     fmt::format("expected at most {} (the partitionable blocks of {}), found {}",
                                 partitioned, s.model.arch, s.strategy.min_depth));
  const std::uint64_t rounds = s.total_rounds();
  if (s.strategy.warmup_rounds > 0 && static_cast<std::uint64_t>(s.strategy.warmup_rounds) >= rounds)
    throw InputError(s.source, "/strategy/warmup_rounds",
                     fmt::format("expected fewer warm-up rounds than the {} training rounds, "
                                 "found {}", rounds, s.strategy.warmup_rounds));
}

void check_ist(const Scenario& s) {
  if (s.model.arch != "mlp")
    throw InputError(s.source, "/model/arch",
                     fmt::format("strategy ist splits fully connected layers; expected \"mlp\", "
                                 "found \"{}\"", s.model.arch));
  for (std::size_t i = 0; i < s.model.hidden.size(); ++i)
    if (s.model.hidden[i] < s.strategy.workers)
      throw InputError(s.source, fmt::format("/model/hidden/{}", i),
                       fmt::format("expected at least one neuron per worker ({}), found {}",
                                   s.strategy.workers, s.model.hidden[i]));
}

/// The given cuts as block indices: known ids, in forward order, none the first block.
std::vector<std::size_t> given_cuts(const Scenario& s, const Network& net) {
  const auto& cuts = s.strategy.layer_parallel.cuts;
  if (cuts.size() + 1 != static_cast<std::size_t>(s.strategy.workers))
    throw InputError(s.source, "/strategy/layer_parallel/cuts",
                     fmt::format("expected {} block ids (one stage per worker, {} workers), found {}; or none, to "
                                 "balance the stages", s.strategy.workers - 1, s.strategy.workers, cuts.size()));
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    const std::string at = fmt::format("/strategy/layer_parallel/cuts/{}", i);
    const auto found = net.find(cuts[i]);
    if (!found)
      throw InputError(s.source, at, fmt::format("expected a block id of {} (\"{}\" ... \"{}\"), found \"{}\"",
                                                 s.model.arch, net.blocks[1].id, net.blocks.back().id, cuts[i]));
    if (*found == 0) throw InputError(s.source, at, "the first stage starts at the first block; expected a later one");
    if (!out.empty() && *found <= out.back())
      throw InputError(s.source, at, fmt::format("expected blocks in forward order, found \"{}\" after \"{}\"", cuts[i],
                                                 net.blocks[out.back()].id));
    try {
      make_auxnet(net, *found, s.strategy.layer_parallel.aux_width, s.strategy.layer_parallel.aux_depth);
    } catch (const StageError& e) {
      throw InputError(s.source, at, fmt::format("no AuxNet can feed this block: {}", e.what()));
    }
    out.push_back(*found);
  }
  return out;
}

void check_layer_parallel(const Scenario& s, const Network& net) {
  if (net.is_mlp())
    throw InputError(s.source, "/model/arch", "strategy layer_parallel cuts a ResNet into stages; expected a ResNet, found mlp");
  if (s.strategy.workers > kMaxStages)
    throw InputError(s.source, "/strategy/workers",
                     fmt::format("{} is above the limit of {} stages (one per worker) for layer_parallel", s.strategy.workers,
                                 kMaxStages));
  if (static_cast<std::size_t>(s.strategy.workers) > net.blocks.size())
    throw InputError(s.source, "/strategy/workers",
                     fmt::format("expected at most {} workers: layer_parallel gives each worker a stage of at least one "
                                 "block, and {} has {} blocks", net.blocks.size(), s.model.arch, net.blocks.size()));
  if (s.strategy.layer_parallel.balance == "cost_table" && s.sim.cost_table.empty())
    throw InputError(s.source, "/strategy/layer_parallel/balance",
                     "\"cost_table\" balances the stages by the seconds of sim.cost_table, and the scenario has none: "
                     "measure one with resist profile and name it in sim.cost_table, or balance \"flops\"");
  if (s.strategy.layer_parallel.method == "augmented_lagrangian" && s.dataset == "synthetic")
    throw InputError(s.source, "/strategy/layer_parallel/method",
                     "augmented_lagrangian keeps a multiplier for every training sample, and synthetic data draws new "
                     "samples every iteration: use method \"penalty\", or a data set (data.dataset)");
  const double serial = s.strategy.layer_parallel.serial_epochs;
  if (serial > 0 && s.train_samples == 0)
    throw InputError(s.source, "/data/train_samples",
                     fmt::format("required for dataset \"{}\" when strategy.layer_parallel.serial_epochs is set", s.dataset));
  // The schema's bounds keep this sum far from overflowing (at most 1e6 epochs of 1e10 samples).
  if (s.total_rounds() > kMaxRounds)
    throw InputError(s.source, "/strategy/layer_parallel/serial_epochs",
                     fmt::format("{:.15g} more epochs of {} samples make {} rounds in all, above the limit of {}", serial,
                                 s.train_samples, s.total_rounds(), kMaxRounds));
  // Given cuts are checked here; balanced ones are searched for when the plan is made.
  if (!s.strategy.layer_parallel.cuts.empty() || s.strategy.workers == 1) (void)given_cuts(s, net);
}

/// JSON pointer of a dotted override path ("strategy.workers" -> "/strategy/workers").
std::string dotted_to_pointer(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    out += "/" + path.substr(start, dot - start);
    start = dot + 1;
  }
  return out;
}

bool is_index(const std::string& segment) {
  return !segment.empty() && segment.find_first_not_of("0123456789") == std::string::npos;
}

void apply_one(json& doc, const std::string& assignment) {
  const std::size_t eq = assignment.find('=');
  const std::string path = assignment.substr(0, eq);
  if (eq == std::string::npos || path.empty() || path.front() == '.' || path.back() == '.' ||
      path.find("..") != std::string::npos)
    throw InputError("--set", "",
                     fmt::format("expected dotted.path=value, found \"{}\"", assignment));
  const std::string text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  json* node = &doc;
  json* parent = nullptr;
  std::string last_key;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    const std::string key = path.substr(start, dot - start);
    const bool last = dot == path.size();
    if (node->is_array() && is_index(key)) {
      const std::size_t i = std::stoul(key);
      if (i >= node->size())
        throw InputError("--set", "",
                         fmt::format("\"{}\": index {} is past the end of an array of {}",
                                     assignment, i, node->size()));
      node = &(*node)[i];
    } else if (node->is_object() || node->is_null()) {
      parent = node;
      last_key = key;
      node = &(*node)[key];
    } else {
      throw InputError("--set", "",
                       fmt::format("\"{}\": \"{}\" is inside {}, which has no fields", assignment,
                                   key, describe_json(*node)));
    }
    if (last) break;
    start = dot + 1;
  }
  if (value.is_null() && parent != nullptr) {
    parent->erase(last_key);  // null removes an optional field (e.g. training.epochs=null)
    return;
  }
  *node = std::move(value);
}

/// Points errors in fields set on the command line at the --set that set them.
[[noreturn]] void rethrow_with_origin(const InputError& e, const std::vector<std::string>& overrides) {
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    const std::string pointer = dotted_to_pointer(it->substr(0, it->find('=')));
    if (e.pointer() == pointer || e.pointer().rfind(pointer + "/", 0) == 0)
      throw InputError(e.source(), e.pointer(),
                       fmt::format("{} (set by --set {})", e.message(), *it));
  }
  throw e;
}

Scenario load_document(json document, const std::string& source,
                       const std::vector<std::string>& overrides) {
  document = apply_overrides(std::move(document), overrides);
  try {
    return parse_scenario(std::move(document), source);
  } catch (const InputError& e) {
    rethrow_with_origin(e, overrides);
  }
}

}  // namespace

std::string_view to_string(StrategyKind kind) { return kStrategyNames.name(kind); }

std::optional<StrategyKind> parse_strategy(std::string_view name) {
  return kStrategyNames.parse(name);
}

std::string_view to_string(Algorithm algorithm) { return kAlgorithmNames.name(algorithm); }

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  return kAlgorithmNames.parse(name);
}

std::filesystem::path Scenario::folder() const {
  if (source.empty() || source.front() == '<') return std::filesystem::current_path();
  return std::filesystem::absolute(source).parent_path();
}

int Scenario::iterations_per_round() const {
  const bool every_iteration = strategy.kind == StrategyKind::data_parallel || strategy.kind == StrategyKind::layer_parallel;
  return every_iteration ? 1 : strategy.local_iterations;
}

double Scenario::samples_per_round() const {
  const double batches = strategy.kind == StrategyKind::layer_parallel ? 1.0 : static_cast<double>(strategy.workers);
  return batches * training.batch_size * iterations_per_round();
}

std::uint64_t Scenario::total_rounds() const {
  if (training.rounds) return *training.rounds + serial_rounds();
  const double rounds = std::ceil(training.epochs.value_or(1.0) *
                                  static_cast<double>(train_samples) / samples_per_round());
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rounds)) + serial_rounds();
}

std::uint64_t Scenario::serial_rounds() const {
  if (strategy.kind != StrategyKind::layer_parallel || strategy.layer_parallel.serial_epochs <= 0) return 0;
  return static_cast<std::uint64_t>(
      std::ceil(strategy.layer_parallel.serial_epochs * static_cast<double>(train_samples) / training.batch_size));
}

double Scenario::epochs_before(std::uint64_t round) const {
  if (train_samples == 0) return 0;
  return static_cast<double>(round) * samples_per_round() / static_cast<double>(train_samples);
}

double Scenario::learning_rate(std::uint64_t round) const {
  const double epoch = epochs_before(round);
  double rate = training.learning_rate;
  for (double step : training.lr_steps)
    if (epoch >= step) rate *= training.lr_gamma;
  return rate;
}

Scenario parse_scenario(json document, const std::string& source) {
  Scenario s = read_fields(scenario_validator().validate(std::move(document), source), source);
  check_length(s);
  const Network net = checked_network(s);
  if (s.strategy.kind == StrategyKind::resist) check_resist(s, net);
  if (s.strategy.kind == StrategyKind::ist) check_ist(s);
  if (s.strategy.kind == StrategyKind::layer_parallel) check_layer_parallel(s, net);
  return s;
}

std::vector<std::size_t> layer_parallel_cuts(const Scenario& s, const Network& net, const std::vector<double>& block_cost,
                                             const std::vector<double>& aux_cost) {
  const LayerParallelSettings& lp = s.strategy.layer_parallel;
  if (!lp.cuts.empty() || s.strategy.workers == 1) return given_cuts(s, net);
  try {
    if (!block_cost.empty()) return balanced_cuts(s.strategy.workers, block_cost, aux_cost);
    return balanced_cuts(net, s.strategy.workers, lp.aux_width, lp.aux_depth, lp.aux_steps);
  } catch (const StageError& e) {
    throw InputError(s.source, "/strategy/workers", e.what());
  }
}

Scenario load_scenario(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  return load_document(read_json_file(file), file.string(), overrides);
}

Scenario default_scenario(const std::vector<std::string>& overrides) {
  return load_document(parse_json_text(default_scenario_text(), "<built-in default>"),
                       "<built-in default>", overrides);
}

Scenario scenario_or_default(const std::string& file, const std::vector<std::string>& overrides) {
  if (file.empty()) return default_scenario(overrides);
  std::error_code ec;
  if (file.find('/') == std::string::npos && !std::filesystem::exists(file, ec))
    for (const auto& [name, text] : builtin_scenarios())
      if (name == file) {
        const std::string source = "<built-in " + name + ">";
        return load_document(parse_json_text(text, source), source, overrides);
      }
  if (file.find('/') == std::string::npos && !std::filesystem::exists(file, ec) &&
      std::filesystem::path(file).extension() != ".json") {
    std::string known;
    for (const auto& [name, text] : builtin_scenarios()) known += (known.empty() ? "" : ", ") + name;
    throw InputError(file, "", fmt::format("no such file, nor a built-in scenario ({})", known));
  }
  return load_scenario(file, overrides);
}

Scenario with_strategy(const Scenario& scenario, StrategyKind kind) {
  json doc = scenario.document;
  doc["strategy"]["name"] = std::string(to_string(kind));
  return parse_scenario(std::move(doc), scenario.source);
}

json apply_overrides(json document, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) apply_one(document, o);
  return document;
}

json relocated_document(json document, const Scenario& scenario, const std::filesystem::path& file) {
  const std::filesystem::path to = std::filesystem::absolute(file).parent_path();
  const auto relocate = [&](json& path) {
    const std::filesystem::path p(path.get<std::string>());
    if (p.is_absolute()) return;
    const std::filesystem::path target = (scenario.folder() / p).lexically_normal();
    const std::filesystem::path relative = target.lexically_relative(to);
    path = (relative.empty() ? target : relative).string();
  };
  if (document.contains("cluster") && document["cluster"].is_string()) {
    const std::string cluster = document["cluster"].get<std::string>();
    if (cluster.size() > 5 && cluster.compare(cluster.size() - 5, 5, ".json") == 0) relocate(document["cluster"]);
  }
  if (document.contains("data") && document["data"].contains("path") && document["data"]["path"].is_string())
    relocate(document["data"]["path"]);
  if (document.contains("sim") && document["sim"].contains("cost_table") && document["sim"]["cost_table"].is_string())
    relocate(document["sim"]["cost_table"]);
  return document;
}

Network scenario_network(const Scenario& scenario) { return build_network(scenario.model); }

}  // namespace resist
