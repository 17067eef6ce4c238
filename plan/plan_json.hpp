// The plan's JSON form (see plan/plan.schema.json), both ways.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plan/plan.hpp"

namespace resist {

/// The plan as JSON; blocks are named by id.
nlohmann::json plan_to_json(const Plan& plan);

/// Reads a plan back, validating schema, block names and every invariant of check_plan.
/// Throws InputError(source, pointer, ...) for anything wrong.
Plan plan_from_json(const nlohmann::json& document, const std::string& source);

}  // namespace resist
