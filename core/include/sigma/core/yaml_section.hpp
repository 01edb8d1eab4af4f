// Strict reading of one YAML mapping: every key a schema reads is remembered, and finish() rejects any other
// key with a "did you mean" hint. Every failure is one line: "file:line:col: dotted.key: what was expected".
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <optional>
#include <string>
#include <vector>

namespace sigma::yaml {

// Throws sigma::Error(ExitCode::config) "file:line:col: key: message".
[[noreturn]] void fail(const std::string& file, const YAML::Mark& mark, const std::string& key,
                       const std::string& message);

// How a node looks in an error message: "\"abc\"", "a mapping", "a list", "nothing".
std::string describe(const YAML::Node& node);

// The text of a YAML file; throws sigma::Error(ExitCode::not_found) "path: cannot open <what> (expected a readable
// YAML file)" when it cannot be opened, ExitCode::config on a read error.
std::string read_file(const std::string& path, const std::string& what);

// Parses YAML text; a syntax error throws sigma::Error(ExitCode::config) "name:line:col: YAML syntax error: ...",
// and so does a second document ("a second YAML document; expected one").
YAML::Node parse(const std::string& text, const std::string& name);

// Where a second YAML document starts in `text`, if there is one. Reads at most two documents: yaml-cpp's
// LoadAll never ends on some malformed text (",key:" at the top) because each call yields another empty document.
// Throws YAML::ParserException on a syntax error.
std::optional<YAML::Mark> second_document(const std::string& text);

// Whether `node` has at most `limit` nodes as a reader walks it: an alias's target counted at every use, so a few
// lines of anchors and aliases that stand for millions of nodes are caught. Stops counting past the limit.
bool expanded_size_at_most(const YAML::Node& node, std::size_t limit);

// The closest of `candidates` to `word`, or "" when none is close enough to suggest.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

class Section {
 public:
  // `node` must be a mapping, or null/undefined (an empty section). `path` is the dotted key ("" for the root).
  Section(const YAML::Node& node, std::string path, std::string file, YAML::Mark fallback_mark);

  bool has(const std::string& key) const;
  void read(const std::string& key, int& out, int min, int max);
  void read(const std::string& key, long long& out, long long min, long long max);
  void read(const std::string& key, double& out, double min, double max);
  void read(const std::string& key, bool& out);
  void read(const std::string& key, std::string& out);
  // The value must be one of `allowed`.
  void read_choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed);
  void read_required(const std::string& key, std::string& out);
  void read(const std::string& key, std::vector<int>& out, int min, int max);
  // Each item must be one of `allowed` (when not empty).
  void read(const std::string& key, std::vector<std::string>& out, const std::vector<std::string>& allowed);

  Section section(const std::string& key);
  YAML::Node raw(const std::string& key);  // registers the key; for lists of mappings
  std::vector<std::string> keys() const;   // keys present, in file order

  // Fails at `key`'s value (or at this section when absent).
  [[noreturn]] void fail_at(const std::string& key, const std::string& message) const;
  // Where `key` is, as a message starts: "file:line:col: dotted.key" (this section's position when absent).
  std::string where(const std::string& key) const;
  const std::string& file() const { return file_; }
  std::string path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // Rejects keys no read asked for, and duplicate keys.
  void finish() const;

 private:
  YAML::Node value(const std::string& key);  // registers the key
  YAML::Mark mark_of(const std::string& key) const;

  YAML::Node node_;
  std::string path_;
  std::string file_;
  YAML::Mark mark_;
  std::set<std::string> known_;
};

}  // namespace sigma::yaml
