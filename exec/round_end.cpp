#include "exec/round_end.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <filesystem>

#include <fmt/format.h>

#include "exec/checkpoint.hpp"
#include "exec/checkpoint_io.hpp"
#include "exec/fault.hpp"
#include "exec/progress.hpp"
#include "exec/rendezvous.hpp"
#include "exec/worker.hpp"
#include "model/model_text.hpp"

namespace resist::exec {

RoundEnd::RoundEnd(const Scenario& s, const WorkerOptions& o, TorchBackend& backend, NetModel& model,
                   DataFeed& feed, c10d::Store& store, Evaluator& evaluator)
    : s_(s), o_(o), backend_(backend), model_(model), feed_(feed), store_(store), evaluator_(evaluator),
      start_(monotonic_seconds()), start_samples_(backend.samples()) {}

void RoundEnd::on_round(const Plan& plan, const Round& round, WorkerId self, double, double) {
  if (!std::isfinite(backend_.round_loss()))
    throw std::runtime_error(fmt::format(
        "round {}: the training loss is {}: training diverged; lower training.learning_rate{}", round.index,
        backend_.round_loss(),
        plan.strategy == StrategyKind::layer_parallel ? " or strategy.layer_parallel.beta" : ""));
  loss.push_back(backend_.round_loss());
  if (self == 0 && plan.parallel_rounds < plan.total_rounds && round.index + 1 >= plan.parallel_rounds)
    store_.add(kProgressKey, 1);  // the others wait at the end while worker 0 corrects serially
  shared_checksum.push_back(checksum(plan, round));
  std::optional<State> global;
  if (!o_.checkpoint_dir.empty()) global = checkpoint(plan, round);
  const bool last = round.index + 1 == plan.rounds.size();
  if (self == 0 && o_.eval_every > 0 && (round.index + 1) % o_.eval_every == 0 && !last)
    evaluate(plan, round, global);
  if (o_.progress && self == 0) show(plan, round);
  inject_fault(round.index, self);
}

/// Sum of the parameters the round left identical on every worker (BatchNorm running statistics
/// are left out: data-parallel training averages gradients only); none when there are none.
std::optional<double> RoundEnd::checksum(const Plan& plan, const Round& round) {
  const std::vector<BlockIndex> blocks = round.replicated_blocks(plan.workers);
  if (blocks.empty()) return std::nullopt;
  double sum = 0;
  for (BlockIndex b : blocks)
    for (const torch::Tensor& t : model_->parameters_of(b)) sum += t.to(torch::kDouble).sum().item<double>();
  return sum;
}

/// Every worker writes its state; once all have, worker 0 assembles the global model from the
/// blocks' holders, publishes the round in the manifest and drops the round before.
std::optional<RoundEnd::State> RoundEnd::checkpoint(const Plan& plan, const Round& round) {
  const std::filesystem::path dir = o_.checkpoint_dir;
  save_worker_state(worker_state_path(dir, round.index, o_.rank), model_,
                    {round.index, feed_.position(), backend_.samples(), backend_.momentum()});
  const std::string key = fmt::format("resist/checkpoint/{}", round.index);
  store_.add(key, 1);
  if (o_.rank != 0) return std::nullopt;
  await_all(store_, key, o_.world, o_.timeout_s);
  State global = write_global_model(dir, round.index, model_, round.holders_after);
  write_manifest(dir, {round.index, plan.total_rounds, plan.workers, s_.document, network_json(plan.network),
                       round.eval_scale});
  if (round.index > 0) std::filesystem::remove_all(worker_state_path(dir, round.index - 1, 0).parent_path());
  return global;
}

/// Accuracy of the global model after a round, where worker 0 can see it: its own model when it
/// holds all of it, else the model the checkpoint assembled.
void RoundEnd::evaluate(const Plan& plan, const Round& round, const std::optional<State>& global) {
  const double start = monotonic_seconds();
  double accuracy = 0;
  if (round.model_complete_on(0)) {
    accuracy = evaluator_.accuracy(model_, round.eval_scale);
  } else if (global) {
    if (!eval_model_) {
      eval_model_ = NetModel(plan.network);
      (*eval_model_)->to(device_of(model_));
    }
    load_state(*eval_model_, *global);
    accuracy = evaluator_.accuracy(*eval_model_, round.eval_scale);
  } else {
    if (!warned_) std::fprintf(stderr, "resist-worker 0: --eval-every: the global model after round %llu is spread "
                                       "over the workers; give --checkpoint-dir to assemble it\n",
                               static_cast<unsigned long long>(round.index));
    warned_ = true;
    return;
  }
  evaluations.emplace_back(round.index, accuracy);
  last_accuracy_ = accuracy;
  evaluation_seconds += monotonic_seconds() - start;
}

void RoundEnd::show(const Plan& plan, const Round& round) {
  ProgressPoint p;
  p.round = round.index;
  p.rounds = plan.rounds.size();
  p.loss = backend_.round_loss();
  p.accuracy = last_accuracy_;
  last_accuracy_.reset();
  p.elapsed_s = monotonic_seconds() - start_;
  // Layer-parallel stages share each batch: worker 0 has seen every sample the training took in.
  const std::uint64_t trained_by = plan.strategy == StrategyKind::layer_parallel ? 1 : static_cast<std::uint64_t>(o_.world);
  p.images_per_s = static_cast<double>((backend_.samples() - start_samples_) * trained_by) / p.elapsed_s;
  p.eta_s = p.elapsed_s / static_cast<double>(++shown_) * static_cast<double>(plan.rounds.size() - 1 - round.index);
  show_progress(p);
}

}  // namespace resist::exec
