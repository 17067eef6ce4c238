// Scenario files compiled into the binary so that it works from any directory.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace resist {

/// scenarios/scenario.schema.json as it was at build time.
std::string_view scenario_schema_text();

/// scenarios/resist-resnet101-cifar100.json, the built-in default scenario.
std::string_view default_scenario_text();

/// Every scenario of scenarios/ (the scenario library), by file name without .json.
const std::vector<std::pair<std::string, std::string_view>>& builtin_scenarios();

}  // namespace resist
