// The schema and the shipped cluster files, compiled in so the binary works from any folder.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace resist {

/// topology/cluster.schema.json as it was at build time.
std::string_view cluster_schema_text();

/// (name, JSON text) of every file in scenarios/clusters/, name without ".json".
const std::vector<std::pair<std::string, std::string_view>>& builtin_clusters();

}  // namespace resist
