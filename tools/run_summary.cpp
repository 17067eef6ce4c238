#include "tools/run_summary.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "model/model_text.hpp"
#include "trace/trace_stats.hpp"

namespace resist::cli {

using exec::WorkerReport;

nlohmann::json run_summary(const std::vector<WorkerReport>& reports, const Trace& trace, const Plan& plan) {
  double samples = 0, seconds = 0, setup = 0;
  for (const WorkerReport& rep : reports) {
    samples += static_cast<double>(rep.samples);
    seconds = std::max(seconds, rep.seconds);
    setup = std::max(setup, rep.setup_seconds);
  }
  const std::vector<RoundTiming> timings = round_timings(trace.events, trace.rounds);
  double time = 0, compute = 0, comm = 0;
  for (const RoundTiming& r : timings) {
    time += r.time_s;
    compute += r.compute_s;
    comm += r.comm_s;
  }
  const std::size_t first = reports.front().first_round;
  double payload = 0, wire = 0;
  for (std::size_t r = first; r < plan.rounds.size(); ++r) {
    payload += static_cast<double>(plan.rounds[r].payload_bytes);
    wire += static_cast<double>(plan.rounds[r].wire_bytes);
  }
  const double n = std::max<double>(1, static_cast<double>(timings.size()));
  const double rounds = std::max<double>(1, static_cast<double>(plan.rounds.size() - first));
  const auto& accuracy = reports.front().accuracy;
  return {{"strategy", std::string(to_string(plan.strategy))}, {"workers", plan.workers},
          {"rounds", timings.size()}, {"seconds", seconds}, {"setup_s", setup},
          {"evaluation_s", reports.front().evaluation_seconds}, {"samples", samples},
          {"images_per_s", samples / seconds}, {"accuracy", accuracy ? nlohmann::json(*accuracy) : nlohmann::json()},
          {"round_s", time / n}, {"compute_s", compute / n}, {"comm_s", comm / n},
          {"payload_bytes_per_round", payload / rounds}, {"wire_bytes_per_round", wire / rounds}};
}

namespace {

std::string round_lines(const std::vector<WorkerReport>& reports) {
  const WorkerReport& first = reports.front();
  std::string out = fmt::format("{:>6} {:>12} {:>18}\n", "round", "mean loss", "shared parameters");
  if (first.first_round > 0) out += fmt::format("(resumed after round {})\n", first.first_round - 1);
  for (std::size_t r = 0; r < first.loss.size(); ++r) {
    double loss = 0;
    bool same = true;
    for (const WorkerReport& rep : reports) {
      loss += rep.loss[r];
      same = same && rep.shared_checksum[r] == first.shared_checksum[r];
    }
    const char* shared = !first.shared_checksum[r] ? "none (IST, layer-parallel)" : same ? "identical" : "DIFFERS";
    out += fmt::format("{:>6} {:>12.4f} {:>18}\n", first.first_round + r, loss / static_cast<double>(reports.size()), shared);
  }
  return out;
}

}  // namespace

std::string summary_text(const std::vector<WorkerReport>& reports, const nlohmann::json& summary) {
  const WorkerReport& first = reports.front();
  std::string out = round_lines(reports);
  const std::string accuracy = first.accuracy ? fmt::format("{:.1f}%", 100 * *first.accuracy)
                                              : std::string("not evaluated (the run stopped before its stages were gathered)");
  out += fmt::format("\n{} workers trained {:.0f} samples in {:.2f} s: {:.1f} images/s; accuracy of "
                     "the global model on held-out data: {}\n", reports.size(),
                     summary["samples"].get<double>(), summary["seconds"].get<double>(),
                     summary["images_per_s"].get<double>(), accuracy);
  if (first.evaluations.size() > 1) {
    out += "accuracy after round:";
    for (const auto& [round, accuracy] : first.evaluations) out += fmt::format(" {}: {:.1f}%", round, 100 * accuracy);
    out += "\n";
  }
  out += fmt::format("outside training: start-up {:.2f} s (a worker's start to its first round, the slowest), "
                     "evaluation {:.2f} s\n", summary["setup_s"].get<double>(), summary["evaluation_s"].get<double>());
  out += fmt::format("per round: {:.3f} s (compute {:.3f} s, communication {:.3f} s); {}B payload, "
                     "{}B on the wire\n", summary["round_s"].get<double>(), summary["compute_s"].get<double>(),
                     summary["comm_s"].get<double>(), si(summary["payload_bytes_per_round"].get<double>()),
                     si(summary["wire_bytes_per_round"].get<double>()));
  if (first.rounds_run != first.total_rounds)
    out += fmt::format("(after {} of {} rounds: worker 0 holds the trained global model only after "
                       "the last round; until then its partitioned blocks may be stale)\n",
                       first.rounds_run, first.total_rounds);
  return out;
}

}  // namespace resist::cli
