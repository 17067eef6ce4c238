// Scenario files compiled into the binary so that it works from any directory.
#pragma once

#include <string_view>

namespace resist {

/// scenarios/scenario.schema.json as it was at build time.
std::string_view scenario_schema_text();

/// scenarios/resist-resnet101-cifar100.json, the built-in default scenario.
std::string_view default_scenario_text();

}  // namespace resist
