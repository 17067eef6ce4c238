// Where a worker is in its plan: what it does now and since when, kept up to date as the
// interpreter walks the plan, served to its peers on its probe port, and described when a peer
// gave up waiting (which worker hangs, or is behind). No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/backend.hpp"

namespace resist::exec {

struct Position {
  enum class Doing { setting_up, computing, waiting, between_ops, round_done, finished };
  Doing doing = Doing::setting_up;
  std::uint64_t round = 0;  ///< 0-based round it is in, or last finished (round_done, finished)
  OpId op = 0;              ///< computing, waiting, between_ops: the op (between_ops: the last finished)
  OpKind kind = OpKind::compute;
  WorkerId peer = -1;       ///< waiting on a send: the other end
  bool sends = false;       ///< waiting on a send: this worker is its root
  double seconds = 0;       ///< how long it has been doing it

  bool operator==(const Position&) const = default;
};

/// {"doing": "waiting", "round": 2, "op": 7, "kind": "allreduce", "peer": -1, "sends": false, "for_s": 3.0}
nlohmann::json to_json(const Position& p);
/// The position in `j` (what a peer served); std::runtime_error where it is not one.
Position position_from_json(const nlohmann::json& j);

/// "waits in round 3's all-reduce (op 7, for 3.0 s)": what the worker does (rounds 1-based, as
/// the progress line counts them).
std::string describe(const Position& p);

/// Every worker's position (index: rank; empty: it did not say), grouped where the same, and the
/// workers that hold the others up where that shows: those a round or more behind, or else those
/// not in a transfer while the others wait in one. "where the workers are: workers 0, 2 wait in
/// round 3's all-reduce (op 7, for 3.0 s); worker 1 finished round 2 and has not begun round 3
/// (for 3.1 s): worker 1 is behind the others".
std::string describe_whereabouts(const std::vector<std::optional<Position>>& positions);

/// A worker's position, kept by observing its interpreter; read from any thread.
class Whereabouts final : public Observer {
 public:
  /// `clock`: seconds, monotonic (the same clock for every call).
  explicit Whereabouts(std::function<double()> clock);

  void on_start(const OpCall& call) override;
  void on_wait(const OpCall& call) override;
  void on_op(const OpCall& call, double start, double end) override;
  void on_round(const Plan& plan, const Round& round, WorkerId self, double start, double end) override;

  /// Where the worker is now, `seconds` counted to now.
  Position now() const;

 private:
  void set(Position p);

  std::function<double()> clock_;
  mutable std::mutex mutex_;
  Position position_;
  double since_;
};

}  // namespace resist::exec
