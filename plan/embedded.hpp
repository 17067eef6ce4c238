// Files compiled into the binary so that it works from any directory.
#pragma once

#include <string_view>

namespace resist {

/// plan/plan.schema.json as it was at build time.
std::string_view plan_schema_text();

}  // namespace resist
