#include "sigma/core/yaml_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma::yaml {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_scalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

template <class T>
bool convert(const YAML::Node& node, T& out) {
  if (!is_scalar(node)) return false;
  try {
    out = node.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

namespace {

// "file:line:col" of a mark, 1-based; a null mark is the file's start.
std::string position(const std::string& file, const YAML::Mark& mark) {
  int line = mark.is_null() ? 1 : mark.line + 1;
  int column = mark.is_null() ? 1 : mark.column + 1;
  return fmt::format("{}:{}:{}", file, line, column);
}

}  // namespace

void fail(const std::string& file, const YAML::Mark& mark, const std::string& key, const std::string& message) {
  std::string where = key.empty() ? "" : key + ": ";
  throw Error(ExitCode::config, fmt::format("{}: {}{}", position(file, mark), where, message));
}

std::string read_file(const std::string& path, const std::string& what) {
  return read_regular_file(path, kMaxConfigBytes, what);
}

namespace {

// Parser events, ignored but for where each document starts.
struct DocumentStarts : YAML::EventHandler {
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  if (parser.HandleNextDocument(starts) && parser.HandleNextDocument(starts)) return starts.last;
  return std::nullopt;
}

YAML::Node parse(const std::string& text, const std::string& name) {
  try {
    YAML::Node document = YAML::Load(text);
    if (const auto second = second_document(text)) fail(name, *second, "", "a second YAML document; expected one");
    return document;
  } catch (const YAML::ParserException& e) {
    fail(name, e.mark, "", "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    fail(name, e.mark, "", "YAML error: " + e.msg);
  }
}

namespace {

// Counts down `budget` once per node; false once it would go below zero.
bool spend(const YAML::Node& node, std::size_t& budget) {
  if (budget == 0) return false;
  --budget;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!spend(item, budget)) return false;
    }
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      if (!spend(entry.first, budget) || !spend(entry.second, budget)) return false;
    }
  }
  return true;
}

}  // namespace

bool expanded_size_at_most(const YAML::Node& node, std::size_t limit) {
  std::size_t budget = limit;
  return spend(node, budget);
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  std::string text = node.Scalar();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return "\"" + text + "\"";
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_distance <= limit ? best : "";
}

Section::Section(const YAML::Node& node, std::string path, std::string file, YAML::Mark fallback_mark)
    // An absent key yields an "invalid" node whose accessors throw; keep a plain null node instead.
    : node_(node.IsDefined() ? node : YAML::Node()), path_(std::move(path)), file_(std::move(file)),
      mark_(fallback_mark) {
  if (!node_.IsNull()) {
    mark_ = node_.Mark();
    if (!node_.IsMap()) {
      fail(file_, mark_, path_.empty() ? "" : path_, "expected a mapping of keys, got " + describe(node_));
    }
  }
}

bool Section::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

YAML::Node Section::value(const std::string& key) {
  known_.insert(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& map = node_;
  return map[key];
}

YAML::Mark Section::mark_of(const std::string& key) const {
  if (node_.IsMap()) {
    for (const auto& entry : node_) {
      if (entry.first.Scalar() == key) return entry.second.IsNull() ? entry.first.Mark() : entry.second.Mark();
    }
  }
  return mark_;
}

void Section::fail_at(const std::string& key, const std::string& message) const {
  fail(file_, mark_of(key), path_of(key), message);
}

std::string Section::where(const std::string& key) const {
  return position(file_, mark_of(key)) + ": " + path_of(key);
}

void Section::read(const std::string& key, long long& out, long long min, long long max) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  long long parsed = 0;
  if (!convert(node, parsed)) fail_at(key, fmt::format("expected an integer, got {}", describe(node)));
  if (parsed < min || parsed > max) {
    fail_at(key, fmt::format("expected an integer in [{}, {}], got {}", min, max, parsed));
  }
  out = parsed;
}

void Section::read(const std::string& key, int& out, int min, int max) {
  long long wide = out;
  read(key, wide, min, max);
  out = static_cast<int>(wide);
}

void Section::read(const std::string& key, double& out, double min, double max) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  double parsed = 0;
  if (!convert(node, parsed) || parsed != parsed) {
    fail_at(key, fmt::format("expected a number, got {}", describe(node)));
  }
  if (parsed < min || parsed > max) {
    fail_at(key, fmt::format("expected a number in [{}, {}], got {}", min, max, parsed));
  }
  out = parsed;
}

void Section::read(const std::string& key, bool& out) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  // Only the two words the message names: YAML 1.1's yes/no/on/off would mean something else to a YAML 1.2 reader.
  const std::string text = is_scalar(node) ? node.Scalar() : "";
  if (text != "true" && text != "false") fail_at(key, fmt::format("expected true or false, got {}", describe(node)));
  out = text == "true";
}

void Section::read(const std::string& key, std::string& out) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  if (!is_scalar(node)) fail_at(key, fmt::format("expected a string, got {}", describe(node)));
  out = node.Scalar();
}

void Section::read_choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed) {
  std::string text = out;
  read(key, text);
  if (!has(key)) return;
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    fail_at(key, fmt::format("expected one of {}, got \"{}\"", fmt::join(allowed, ", "), text));
  }
  out = text;
}

void Section::read_required(const std::string& key, std::string& out) {
  if (!has(key)) fail_at(key, "required field is missing (expected a non-empty string)");
  read(key, out);
  if (out.empty()) fail_at(key, "expected a non-empty string");
}

void Section::read(const std::string& key, std::vector<int>& out, int min, int max) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  if (!node.IsSequence()) fail_at(key, fmt::format("expected a list of integers, got {}", describe(node)));
  std::vector<int> items;
  for (const auto& item : node) {
    long long parsed = 0;
    if (!convert(item, parsed) || parsed < min || parsed > max) {
      fail(file_, item.Mark(), path_of(key),
           fmt::format("expected integers in [{}, {}], got {}", min, max, describe(item)));
    }
    items.push_back(static_cast<int>(parsed));
  }
  out = std::move(items);
}

void Section::read(const std::string& key, std::vector<std::string>& out,
                   const std::vector<std::string>& allowed) {
  YAML::Node node = value(key);
  if (!node.IsDefined()) return;
  if (!node.IsSequence()) fail_at(key, fmt::format("expected a list of strings, got {}", describe(node)));
  std::vector<std::string> items;
  for (const auto& item : node) {
    if (!is_scalar(item)) fail(file_, item.Mark(), path_of(key), "expected a string, got " + describe(item));
    const std::string& text = item.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
      fail(file_, item.Mark(), path_of(key),
           fmt::format("expected one of {}, got \"{}\"", fmt::join(allowed, ", "), text));
    }
    items.push_back(text);
  }
  out = std::move(items);
}

Section Section::section(const std::string& key) {
  YAML::Node node = value(key);
  return Section(node, path_of(key), file_, mark_of(key));
}

YAML::Node Section::raw(const std::string& key) { return value(key); }

std::vector<std::string> Section::keys() const {
  std::vector<std::string> names;
  if (!node_.IsMap()) return names;
  for (const auto& entry : node_) names.push_back(entry.first.Scalar());
  return names;
}

void Section::finish() const {
  if (!node_.IsMap()) return;
  std::map<std::string, int> seen;
  std::vector<std::string> known(known_.begin(), known_.end());
  for (const auto& entry : node_) {
    const YAML::Node& key_node = entry.first;
    if (!is_scalar(key_node)) fail(file_, key_node.Mark(), path_, "expected a plain key, got " + describe(key_node));
    const std::string& key = key_node.Scalar();
    if (seen[key]++ > 0) fail(file_, key_node.Mark(), path_of(key), "duplicate key");
    if (known_.count(key)) continue;
    std::string hint = closest_match(key, known);
    std::string message = "unknown key";
    if (!hint.empty()) message += fmt::format(" (did you mean \"{}\"?)", hint);
    else message += fmt::format(" (expected one of {})", fmt::join(known, ", "));
    fail(file_, key_node.Mark(), path_of(key), message);
  }
}

}  // namespace sigma::yaml
