#include "exec/layer_stage.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "exec/torch_backend.hpp"
#include "exec/torch_compat.hpp"

namespace resist::exec {
namespace {

namespace nn = torch::nn;

nn::Sequential build_auxnet(const AuxNet& aux) {
  nn::Sequential net;
  for (const AuxLayer& l : aux.layers) {
    net->push_back(nn::Conv2d(nn::Conv2dOptions(l.in_channels, l.out_channels, 3).stride(l.stride).padding(1).bias(false)));
    if (!l.norm_relu) continue;
    net->push_back(nn::BatchNorm2d(l.out_channels));
    net->push_back(nn::ReLU(nn::ReLUOptions(true)));
  }
  return net;
}

}  // namespace

LayerStage::LayerStage(const Scenario& s, const Plan& plan, WorkerId self, torch::Device device,
                       std::optional<torch::ScalarType> autocast, bool channels_last)
    : s_(s), plan_(plan), self_(static_cast<std::size_t>(self)), device_(device), autocast_(autocast),
      channels_last_(channels_last) {
  if (self_ >= plan.stages.size())
    throw std::invalid_argument(fmt::format("worker {} has no stage: the plan has {}", self, plan.stages.size()));
  const Stage& mine = plan.stages[self_];
  if (!mine.aux) return;
  aux_ = build_auxnet(*mine.aux);
  aux_->to(device_);
  const double lr = s.strategy.layer_parallel.aux_learning_rate.value_or(s.training.learning_rate);
  aux_optimizer_.emplace(aux_->parameters(), sgd_options(s, lr));
}

double LayerStage::beta(std::uint64_t round) const {
  const auto& lp = s_.strategy.layer_parallel;
  return lp.beta * std::pow(lp.beta_growth, std::floor(s_.epochs_before(round)));
}

void LayerStage::draw(const Round& round, DataFeed& feed) {
  if (drawn_round_ == round.index) return;
  drawn_round_ = round.index;
  batch_ = feed.next(plan_.batch_size);  // every stage draws the same batch: the same feed
  if (channels_last_ && batch_.images.dim() == 4) batch_.images = batch_.images.contiguous(torch::MemoryFormat::ChannelsLast);
}

void LayerStage::aux_forward(const Round& round, DataFeed& feed) {
  draw(round, feed);
  aux_->train();
  AutocastScope autocast(device_.type(), autocast_);
  aux_out_ = aux_->forward(batch_.images).to(torch::kFloat);
  input_ = aux_out_.detach();
}

torch::Tensor LayerStage::train(const Round& round, DataFeed& feed, NetModel& model, torch::optim::SGD& optimizer) {
  draw(round, feed);
  const Stage& mine = plan_.stages[self_];
  const bool first = self_ == 0, last = self_ + 1 == plan_.stages.size();
  const auto layout = channels_last_ ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::Tensor x = first ? batch_.images : input_.clone(layout).requires_grad_(true);
  const torch::Tensor in = x;
  for (const torch::Tensor& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  model->train();
  torch::Tensor loss;
  {
    AutocastScope autocast(device_.type(), autocast_);
    for (std::size_t b = mine.first; b < mine.end; ++b) x = model->forward_block(b, x);
    if (last) {
      loss = torch::nn::functional::cross_entropy(x, batch_.labels);
    } else {  // beta/2 |output - target|^2 per element of the cut's tensor, averaged over the batch
      const torch::Tensor out = x.to(torch::kFloat);
      loss = 0.5 * beta(round.index) * torch::nn::functional::mse_loss(out, target_);
      if (augmented()) loss = loss + (batch_multipliers(feed) * (out - target_)).mean();  // + <mu, out - target>
    }
  }
  loss.backward();
  multi_tensor_sgd_step(optimizer);  // the blocks of other stages have no gradient: left alone
  if (!first) input_grad_ = in.grad().detach();
  if (!last) output_ = x.detach().to(torch::kFloat);
  if (!last && augmented()) update_multipliers(round);
  return loss.detach();
}

bool LayerStage::augmented() const { return plan_.method == "augmented_lagrangian"; }

torch::Tensor LayerStage::batch_multipliers(const DataFeed& feed) {
  if (!multipliers_.defined()) {
    const AuxNet& next = *plan_.stages.at(self_ + 1).aux;
    const std::int64_t samples = feed.shard_size();
    if (samples == 0 || !batch_.indices.defined())
      throw std::logic_error("augmented_lagrangian needs a data set with fixed samples; synthetic data has none");
    try {
      multipliers_ = torch::zeros({samples, next.out_channels, next.out_size.h, next.out_size.w},
                                  torch::TensorOptions().device(device_).dtype(torch::kFloat));
    } catch (const c10::Error& e) {
      throw std::runtime_error(fmt::format(
          "stage {}: cannot allocate the augmented-Lagrangian multipliers, {} samples x {} elements at the cut, "
          "{:.1f} MiB fp32: {}", self_ + 1, samples, next.output_elements(),
          static_cast<double>(samples) * static_cast<double>(next.output_elements()) * 4 / (1024.0 * 1024.0),
          e.what_without_backtrace()));
    }
  }
  return multipliers_.index_select(0, batch_.indices);
}

void LayerStage::update_multipliers(const Round& round) {
  // What the next stage's AuxNet chases is z + mu/beta (with this iteration's mu): the minimiser
  // of beta/(2D)|z - lambda|^2 + <mu, z - lambda>/D + loss(lambda) moves from there. Then
  // mu += beta (z - lambda), z and lambda as this iteration used them.
  // index_add_: a batch that spans two epochs may hold a sample twice; each visit adds its term.
  const double b = beta(round.index);
  const torch::Tensor z = output_;
  output_ = z + multipliers_.index_select(0, batch_.indices) / b;
  multipliers_.index_add_(0, batch_.indices, b * (z - target_));
}

void LayerStage::aux_update(const Round& round) {
  // The auxiliary variable's new value: the minimiser over lambda of beta/(2 D) |z - lambda|^2 +
  // loss(lambda), the penalty per element of the D-element tensor at the cut and this stage's
  // per-sample loss linearised: z - D/beta times that loss's gradient (the batch mean's gradient
  // times the batch size).
  const double elements = static_cast<double>(plan_.stages[self_].aux->output_elements());
  const torch::Tensor wanted =
      anchor_ - input_grad_ * (elements * static_cast<double>(plan_.batch_size) / beta(round.index));
  for (auto& group : aux_optimizer_->param_groups()) {
    const double lr = s_.strategy.layer_parallel.aux_learning_rate.value_or(s_.training.learning_rate) *
                      s_.learning_rate(round.index) / s_.training.learning_rate;
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
  for (int step = 0; step < plan_.aux_steps; ++step) {
    if (step > 0) {  // the first step reuses the forward the iteration started with
      AutocastScope autocast(device_.type(), autocast_);
      aux_out_ = aux_->forward(batch_.images).to(torch::kFloat);
    }
    aux_optimizer_->zero_grad();
    torch::nn::functional::mse_loss(aux_out_, wanted).backward();
    multi_tensor_sgd_step(*aux_optimizer_);
  }
  aux_out_ = torch::Tensor();
}

torch::Tensor LayerStage::outgoing(Payload payload) const {
  const torch::Tensor& t = payload == Payload::aux_output ? input_ : output_;
  if (!t.defined())
    throw std::logic_error(fmt::format("stage {}: nothing to send as {} yet", self_ + 1, to_string(payload)));
  return t;
}

torch::Tensor LayerStage::incoming(Payload payload) {
  // aux_output comes from the next stage (the penalty's target); stage_output from the stage
  // before (the anchor of this stage's AuxNet update): each shaped as the input of its cut's stage.
  const std::size_t cut = payload == Payload::aux_output ? self_ + 1 : self_;
  const AuxNet& aux = *plan_.stages.at(cut).aux;
  torch::Tensor& into = payload == Payload::aux_output ? target_ : anchor_;
  into = torch::empty({plan_.batch_size, aux.out_channels, aux.out_size.h, aux.out_size.w},
                      torch::TensorOptions().device(device_).dtype(torch::kFloat));
  return into;
}

}  // namespace resist::exec
