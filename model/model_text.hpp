// Human and machine renderings of a network's per-block costs.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/network.hpp"

namespace resist {

/// A per-block table with totals, for people.
std::string network_table(const Network& net, Dtype dtype);

/// The same facts as JSON: `blocks`, `total_params`, `total_flops` (forward, per sample), ...
nlohmann::json network_json(const Network& net);

/// Human-readable quantity with an SI prefix ("1.23 G").
std::string si(double value, int precision = 3);

}  // namespace resist
