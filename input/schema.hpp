// Validation of JSON documents against resist's own JSON Schemas.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace resist {

/// Checks documents against a JSON Schema and fills in the schema's defaults.
///
/// Debian ships no C++ JSON Schema validator, so this implements the subset resist's schemas use
/// (draft 2020-12 keywords): type, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
/// items, minItems, maxItems, pattern (short strings), properties, required, additionalProperties: false, default, and
/// local references ("$ref": "#/$defs/name").
/// Unknown fields are rejected with the closest known name as a suggestion.
class SchemaValidator {
 public:
  explicit SchemaValidator(nlohmann::json schema);

  /// Returns the document with defaults filled in; throws InputError(source, pointer, ...) at the
  /// first violation found in document order.
  nlohmann::json validate(nlohmann::json document, const std::string& source) const;

  const nlohmann::json& schema() const { return schema_; }

 private:
  nlohmann::json schema_;
};

/// Edit distance between two short strings, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace resist
