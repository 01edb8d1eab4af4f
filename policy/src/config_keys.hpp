// A config section as a table of keys: each key is named once, with the member it sets, its bounds or allowed
// names and any check on its value. The reader (through yaml::Section, which words every message) and the printer
// of the effective config walk the same table in the same order, so a key cannot be read and not printed, or
// printed under another name. Checks that span keys are entries of their own, placed where they run.
#pragma once

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "sigma/core/yaml_section.hpp"

namespace sigma::config_keys {

// One line per retired key a file still has.
using Warnings = std::vector<std::string>;

template <class S>
struct Key {
  const char* name;
  // Reads the key into the section's struct and runs its checks (a retired key adds a warning instead).
  std::function<void(yaml::Section&, S&, Warnings&)> read;
  // Prints the value after "name:"; empty for a check or a retired key, which print nothing.
  std::function<void(YAML::Emitter&, const S&)> print;
};

template <class S>
using Keys = std::vector<Key<S>>;

// What is wrong with a value read, as the message says it after "key: "; "" when nothing is.
template <class T>
using Check = std::function<std::string(const T&)>;

// Reads every key in table order, then refuses any key the table does not name.
template <class S>
void read_keys(yaml::Section section, S& out, const Keys<S>& keys, Warnings& warnings) {
  for (const auto& key : keys) key.read(section, out, warnings);
  section.finish();
}

template <class S>
void print_keys(YAML::Emitter& out, const S& in, const Keys<S>& keys) {
  for (const auto& key : keys) {
    if (!key.print) continue;
    out << YAML::Key << key.name << YAML::Value;
    key.print(out, in);
  }
}

// A key printed as it is stored: `read` is the yaml::Section call that reads it, `check` runs on the value read.
template <class S, class M, class Read>
Key<S> plain(const char* name, M S::*member, Read read, Check<M> check, bool flow = false) {
  return {name,
          [=](yaml::Section& s, S& out, Warnings&) {
            read(s, out.*member);
            if (!check) return;
            if (const std::string problem = check(out.*member); !problem.empty()) s.fail_at(name, problem);
          },
          [=](YAML::Emitter& out, const S& in) {
            if (flow) out << YAML::Flow;
            out << in.*member;
          }};
}

template <class S>
Key<S> integer(const char* name, int S::*member, int lo, int hi) {
  return plain<S, int>(name, member, [=](yaml::Section& s, int& v) { s.read(name, v, lo, hi); }, {});
}

template <class S>
Key<S> number(const char* name, double S::*member, double lo, double hi, Check<double> check = {}) {
  return plain<S, double>(name, member, [=](yaml::Section& s, double& v) { s.read(name, v, lo, hi); }, check);
}

template <class S>
Key<S> flag(const char* name, bool S::*member) {
  return plain<S, bool>(name, member, [=](yaml::Section& s, bool& v) { s.read(name, v); }, {});
}

template <class S>
Key<S> text(const char* name, std::string S::*member, Check<std::string> check = {}) {
  return plain<S, std::string>(name, member, [=](yaml::Section& s, std::string& v) { s.read(name, v); }, check);
}

// A string the file must give, not empty.
template <class S>
Key<S> required_text(const char* name, std::string S::*member) {
  return plain<S, std::string>(name, member,
                               [=](yaml::Section& s, std::string& v) { s.read_required(name, v); }, {});
}

// A list of integers, each in [lo, hi], printed on one line.
template <class S>
Key<S> integers(const char* name, std::vector<int> S::*member, int lo, int hi, Check<std::vector<int>> check) {
  return plain<S, std::vector<int>>(
      name, member, [=](yaml::Section& s, std::vector<int>& v) { s.read(name, v, lo, hi); }, check, true);
}

// A list of names, each one of `allowed`, printed on one line.
template <class S>
Key<S> names(const char* name, std::vector<std::string> S::*member, std::vector<std::string> allowed,
             Check<std::vector<std::string>> check) {
  return plain<S, std::vector<std::string>>(
      name, member, [=](yaml::Section& s, std::vector<std::string>& v) { s.read(name, v, allowed); }, check, true);
}

// A nested mapping with its own table.
template <class S, class Sub>
Key<S> section(const char* name, Sub S::*member, Keys<Sub> keys) {
  return {name,
          [=](yaml::Section& s, S& out, Warnings& warnings) {
            read_keys(s.section(name), out.*member, keys, warnings);
          },
          [=](YAML::Emitter& out, const S& in) {
            out << YAML::BeginMap;
            print_keys(out, in.*member, keys);
            out << YAML::EndMap;
          }};
}

// A check over several keys, run at its place in the table; a failure is reported at key `at`.
template <class S>
Key<S> check(const char* at, Check<S> check) {
  return {at,
          [=](yaml::Section& s, S& out, Warnings&) {
            if (const std::string problem = check(out); !problem.empty()) s.fail_at(at, problem);
          },
          {}};
}

// A key sigma no longer uses: accepted with any value and ignored, so that a config written for an older sigma
// still loads (a prolog that refused it would fail every job); a file that has it gets one warning line.
template <class S>
Key<S> retired(const char* name, const char* why) {
  return {name,
          [=](yaml::Section& s, S&, Warnings& warnings) {
            if (s.raw(name).IsDefined()) warnings.push_back(fmt::format("{}: ignored: {}", s.where(name), why));
          },
          {}};
}

// Checks for text values.
inline Check<std::string> one_of(std::vector<std::string> allowed, bool may_be_empty = false) {
  return [=](const std::string& value) -> std::string {
    if (value.empty() && may_be_empty) return "";
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return "";
    return fmt::format("expected one of {}, got \"{}\"", fmt::join(allowed, ", "), value);
  };
}

inline Check<std::string> absolute_path(bool may_be_empty) {
  return [=](const std::string& path) -> std::string {
    if (path.empty() && may_be_empty) return "";
    if (!path.empty() && path.front() == '/') return "";
    return fmt::format("expected an absolute path, got \"{}\"", path);
  };
}

// For lists: `message` when the list is empty.
template <class T>
Check<std::vector<T>> not_empty(const char* message) {
  return [=](const std::vector<T>& items) { return items.empty() ? std::string(message) : std::string(); };
}

}  // namespace sigma::config_keys
