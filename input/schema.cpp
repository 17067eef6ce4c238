#include "input/schema.hpp"

#include <algorithm>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "input/input_error.hpp"
#include "input/json_file.hpp"

namespace resist {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "null") return value.is_null();
  return false;
}

std::string article(const std::string& type) {
  return (type == "object" || type == "array" || type == "integer" ? "an " : "a ") + type;
}

std::vector<std::string> types_of(const json& schema) {
  const json& t = schema.at("type");
  if (t.is_string()) return {t.get<std::string>()};
  return t.get<std::vector<std::string>>();
}

std::string noun(const json& schema) {
  if (!schema.contains("type")) return "a value";
  std::string out;
  for (const std::string& t : types_of(schema)) out += (out.empty() ? "" : " or ") + article(t);
  return out;
}

class Walker {
 public:
  Walker(const json& root, const std::string& source) : root_(root), source_(source) {}

  void check(const json& schema_or_ref, json& value, const Pointer& at) const {
    const json& schema = resolve(schema_or_ref);
    if (schema.contains("type")) check_type(schema, value, at);
    if (schema.contains("enum")) check_enum(schema.at("enum"), value, at);
    if (value.is_number()) check_bounds(schema, value, at);
    if (value.is_string() && schema.contains("pattern")) check_pattern(schema.at("pattern").get<std::string>(), value, at);
    if (value.is_array()) check_array(schema, value, at);
    if (value.is_object()) check_object(schema, value, at);
  }

 private:
  /// Follows a local "$ref" ("#/$defs/link") to the schema it names.
  const json& resolve(const json& schema) const {
    if (!schema.contains("$ref")) return schema;
    const std::string ref = schema.at("$ref").get<std::string>();
    return root_.at(Pointer(ref.substr(ref.find('#') + 1)));
  }

  [[noreturn]] void fail(const Pointer& at, const std::string& message) const {
    throw InputError(source_, at.to_string(), message);
  }

  void check_type(const json& schema, const json& value, const Pointer& at) const {
    for (const std::string& t : types_of(schema))
      if (has_type(value, t)) return;
    fail(at, fmt::format("expected {}, found {}", noun(schema), describe_json(value)));
  }

  /// ECMAScript regular expression, searched (anchor it with ^ and $). Texts over 1,000
  /// characters never match: the patterns are for short codes and dates.
  void check_pattern(const std::string& pattern, const json& value, const Pointer& at) const {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() <= 1000 && std::regex_search(text, std::regex(pattern))) return;
    const json shown = text.size() > 60 ? json(text.substr(0, 60) + "...") : value;
    fail(at, fmt::format("expected a string matching {}, found {}", pattern,
                         shown.dump(-1, ' ', false, json::error_handler_t::replace)));
  }

  void check_enum(const json& options, const json& value, const Pointer& at) const {
    if (std::find(options.begin(), options.end(), value) != options.end()) return;
    std::string list;
    for (const json& o : options) list += (list.empty() ? "" : ", ") + o.dump();
    fail(at, fmt::format("expected one of {}, found {}", list, describe_json(value)));
  }

  void check_bounds(const json& schema, const json& value, const Pointer& at) const {
    const double v = value.get<double>();
    const std::string what = noun(schema);
    auto bound = [&](const char* key, const char* op, auto violated) {
      if (!schema.contains(key)) return;
      const json& limit = schema.at(key);
      if (violated(v, limit.get<double>()))
        fail(at, fmt::format("expected {} {} {}, found {}", what, op, limit.dump(), value.dump()));
    };
    bound("minimum", ">=", [](double x, double l) { return x < l; });
    bound("exclusiveMinimum", ">", [](double x, double l) { return x <= l; });
    if (schema.contains("maximum") && v > schema.at("maximum").get<double>())  // the form bounds take
      fail(at, fmt::format("{} is above the limit of {}", value.dump(), schema.at("maximum").dump()));
    bound("exclusiveMaximum", "<", [](double x, double l) { return x >= l; });
  }

  void check_array(const json& schema, json& value, const Pointer& at) const {
    const std::size_t n = value.size();
    if (schema.contains("minItems") && n < schema.at("minItems").get<std::size_t>())
      fail(at, fmt::format("expected at least {} items, found {}", schema.at("minItems").dump(), n));
    if (schema.contains("maxItems") && n > schema.at("maxItems").get<std::size_t>())
      fail(at, fmt::format("expected at most {} items, found {}", schema.at("maxItems").dump(), n));
    if (!schema.contains("items")) return;
    for (std::size_t i = 0; i < n; ++i) check(schema.at("items"), value[i], at / i);
  }

  void check_object(const json& schema, json& value, const Pointer& at) const {
    static const json kNone = json::object();
    const json& properties = schema.contains("properties") ? schema.at("properties") : kNone;
    const bool closed = schema.contains("additionalProperties") &&
                        schema.at("additionalProperties") == false;
    for (auto it = value.begin(); it != value.end(); ++it)
      if (closed && !properties.contains(it.key())) fail(at / it.key(), unknown(it.key(), properties));
    if (schema.contains("required"))
      for (const json& name : schema.at("required"))
        if (!value.contains(name.get<std::string>()))
          fail(at, fmt::format("missing required field \"{}\"", name.get<std::string>()));
    for (auto it = properties.begin(); it != properties.end(); ++it) {
      const json& property = resolve(it.value());
      if (!value.contains(it.key()) && property.contains("default"))
        value[it.key()] = property.at("default");
      if (value.contains(it.key())) check(it.value(), value[it.key()], at / it.key());
    }
  }

  static std::string unknown(const std::string& key, const json& properties) {
    std::string known, best;
    std::size_t best_distance = 3;  // suggest only close matches
    for (auto it = properties.begin(); it != properties.end(); ++it) {
      known += (known.empty() ? "\"" : ", \"") + it.key() + "\"";
      const std::size_t d = edit_distance(key, it.key());
      if (d < best_distance) {
        best_distance = d;
        best = it.key();
      }
    }
    std::string message = fmt::format("unknown field \"{}\"", key);
    if (!best.empty()) message += fmt::format(" (did you mean \"{}\"?)", best);
    return message + "; expected one of " + known;
  }

  const json& root_;
  const std::string& source_;
};

}  // namespace

SchemaValidator::SchemaValidator(nlohmann::json schema) : schema_(std::move(schema)) {}

nlohmann::json SchemaValidator::validate(nlohmann::json document, const std::string& source) const {
  Walker(schema_, source).check(schema_, document, Pointer{});
  return document;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace resist
