// One table of config keys drives the YAML loader, the command line and the printed config. The YAML file is
// checked by core's yaml::Section, as the site config is: the same rules (unknown and duplicate keys, types,
// ranges) and the same one-line messages ("file:line:col: key: expected ..., got ...").
#include "sigma/trainer/config.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma::trainer {
namespace po = boost::program_options;

namespace {

// A bad command-line value; `expected` is worded as core's YAML checks word it.
struct BadValue {
  std::string expected;
};

long long parse_integer(const std::string& text, long long lo, long long hi) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) throw BadValue{"an integer"};
  if (value < lo || value > hi) throw BadValue{fmt::format("an integer in [{}, {}]", lo, hi)};
  return value;
}

double parse_real(const std::string& text, double lo, double hi) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size()) throw BadValue{"a number"};
    if (!(v >= lo && v <= hi)) throw BadValue{fmt::format("a number in [{}, {}]", lo, hi)};
    return v;
  } catch (const std::logic_error&) {
    throw BadValue{"a number"};
  }
}

bool parse_bool(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw BadValue{"true or false"};
}

constexpr int kMaxTopK = 1 << 20;
constexpr const char* kTopKExpected = "an integer or a list of integers (one per layer)";

std::vector<int> parse_top_k(const std::string& text) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(static_cast<int>(parse_integer(item, 1, kMaxTopK)));
  if (values.empty()) throw BadValue{kTopKExpected};
  return values;
}

// YAML: one integer, or a list of them.
void read_top_k(yaml::Section& s, std::vector<int>& top_k) {
  const YAML::Node node = s.raw("top_k");
  if (!node.IsDefined()) return;  // absent (an absent key's node answers nothing else)
  if (node.IsSequence()) {
    s.read("top_k", top_k, 1, kMaxTopK);
    if (top_k.empty()) s.fail_at("top_k", fmt::format("expected {}, got an empty list", kTopKExpected));
  } else {
    int k = 0;
    s.read("top_k", k, 1, kMaxTopK);
    top_k = {k};
  }
}

const std::vector<std::string> kFaultTargets = {"none", "param", "grad"};

FaultTarget fault_target(const std::string& name) {
  return name == "param" ? FaultTarget::param : name == "grad" ? FaultTarget::grad : FaultTarget::none;
}

const char* fault_target_name(FaultTarget target) {
  return target == FaultTarget::param ? "param" : target == FaultTarget::grad ? "grad" : "none";
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(values[i]);
  }
  return out;
}

// One key: its YAML name (the option is the name with dashes), help, whether it is part of the resume contract,
// how YAML (through core's yaml::Section) and the command line set it, and its text for the printed config and
// the config hash.
struct Key {
  const char* name;
  const char* help;
  bool in_hash;
  std::function<void(yaml::Section&, TrainConfig&)> read;
  std::function<void(TrainConfig&, const std::string&)> parse;  // throws BadValue
  std::function<std::string(const TrainConfig&)> text;
};

// The member a key sets, as a generic lambda so one accessor serves a const and a mutable config.
#define SIGMA_FIELD(member) [](auto& c) -> auto& { return c.member; }

// The type of the member a key's accessor names.
template <class Field>
using MemberOf = std::remove_reference_t<decltype(std::declval<Field>()(std::declval<TrainConfig&>()))>;

// An integer member of any width, checked in [lo, hi].
template <class Field>
Key integer_key(const char* name, Field field, long long lo, long long hi, bool in_hash, const char* help) {
  return {name, help, in_hash,
          [=](yaml::Section& s, TrainConfig& c) {
            auto value = static_cast<long long>(field(c));
            s.read(name, value, lo, hi);
            field(c) = static_cast<MemberOf<Field>>(value);
          },
          [=](TrainConfig& c, const std::string& t) {
            field(c) = static_cast<MemberOf<Field>>(parse_integer(t, lo, hi));
          },
          [=](const TrainConfig& c) { return std::to_string(field(c)); }};
}

// A float or double member, checked as a number in [lo, hi].
template <class Field>
Key number_key(const char* name, Field field, double lo, double hi, bool in_hash, const char* help) {
  return {name, help, in_hash,
          [=](yaml::Section& s, TrainConfig& c) {
            double value = field(c);
            s.read(name, value, lo, hi);
            field(c) = static_cast<MemberOf<Field>>(value);
          },
          [=](TrainConfig& c, const std::string& t) {
            field(c) = static_cast<MemberOf<Field>>(parse_real(t, lo, hi));
          },
          [=](const TrainConfig& c) { return fmt::format("{}", field(c)); }};
}

template <class Field>
Key flag_key(const char* name, Field field, const char* help) {
  return {name, help, false, [=](yaml::Section& s, TrainConfig& c) { s.read(name, field(c)); },
          [=](TrainConfig& c, const std::string& t) { field(c) = parse_bool(t); },
          [=](const TrainConfig& c) { return std::string(field(c) ? "true" : "false"); }};
}

template <class Field>
Key text_key(const char* name, Field field, const char* help) {
  return {name, help, false, [=](yaml::Section& s, TrainConfig& c) { s.read(name, field(c)); },
          [=](TrainConfig& c, const std::string& t) { field(c) = t; },
          [=](const TrainConfig& c) { return field(c); }};
}

Key top_k_key() {
  return {"top_k", "experts per token: one integer, or one per layer (\"2,2,1\")", true,
          [](yaml::Section& s, TrainConfig& c) { read_top_k(s, c.model.top_k); },
          [](TrainConfig& c, const std::string& t) { c.model.top_k = parse_top_k(t); },
          [](const TrainConfig& c) { return join(c.model.top_k); }};
}

Key bitflip_key() {
  return {"inject_bitflip", "testing aid: flip a bit in a dense parameter or reduced gradient (none, param, grad)",
          false,
          [](yaml::Section& s, TrainConfig& c) {
            std::string name = fault_target_name(c.fault.bitflip);
            s.read_choice("inject_bitflip", name, kFaultTargets);
            c.fault.bitflip = fault_target(name);
          },
          [](TrainConfig& c, const std::string& t) {
            if (std::find(kFaultTargets.begin(), kFaultTargets.end(), t) == kFaultTargets.end())
              throw BadValue{fmt::format("one of {}", fmt::join(kFaultTargets, ", "))};
            c.fault.bitflip = fault_target(t);
          },
          [](const TrainConfig& c) { return std::string(fault_target_name(c.fault.bitflip)); }};
}

// The names, order and text of the in_hash keys make the config hash that checkpoints record (RunConfig.HashIsPinned):
// new keys stay out of it or old checkpoints stop resuming.
const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      integer_key("vocab_size", SIGMA_FIELD(model.vocab_size), 2, 1 << 24, true,
                  "vocabulary size (256 for byte-level token files)"),
      integer_key("d_model", SIGMA_FIELD(model.d_model), 2, 1 << 16, true, "model width"),
      integer_key("n_layers", SIGMA_FIELD(model.n_layers), 1, 1024, true, "number of transformer blocks"),
      integer_key("n_heads", SIGMA_FIELD(model.n_heads), 1, 1024, true, "attention heads"),
      integer_key("seq_len", SIGMA_FIELD(model.seq_len), 1, 1 << 16, true, "tokens per sequence"),
      integer_key("n_experts", SIGMA_FIELD(model.n_experts), 1, 1 << 16, true, "experts per MoE layer"),
      integer_key("d_ff", SIGMA_FIELD(model.d_ff), 1, 1 << 20, true, "hidden size of each SwiGLU expert"),
      top_k_key(),
      number_key("capacity_factor", SIGMA_FIELD(model.capacity_factor), 0, 1e6, true,
                 "expert capacity factor; 0 = unlimited"),
      number_key("aux_loss_coef", SIGMA_FIELD(model.aux_loss_coef), 0, 1e6, true,
                 "global-batch load-balancing loss weight"),
      number_key("z_loss_coef", SIGMA_FIELD(model.z_loss_coef), 0, 1e6, true, "router z-loss weight"),
      number_key("rope_theta", SIGMA_FIELD(model.rope_theta), 1, 1e12, true, "RoPE base"),
      number_key("init_std", SIGMA_FIELD(model.init_std), 0, 10, true, "std of the normal weight init"),
      number_key("lr", SIGMA_FIELD(optim.lr), 0, 10, true, "peak learning rate"),
      number_key("min_lr", SIGMA_FIELD(optim.min_lr), 0, 10, true, "learning rate at the end of the cosine decay"),
      integer_key("warmup_steps", SIGMA_FIELD(optim.warmup_steps), 0, 1 << 30, true, "linear warm-up steps"),
      number_key("weight_decay", SIGMA_FIELD(optim.weight_decay), 0, 10, true,
                 "AdamW decoupled weight decay (matrices only)"),
      number_key("beta1", SIGMA_FIELD(optim.beta1), 0, 0.999999, true, "AdamW beta1"),
      number_key("beta2", SIGMA_FIELD(optim.beta2), 0, 0.999999, true, "AdamW beta2"),
      number_key("eps", SIGMA_FIELD(optim.eps), 0, 1, true, "AdamW epsilon"),
      number_key("grad_clip", SIGMA_FIELD(optim.grad_clip), 0, 1e9, true, "global grad-norm clip; 0 = off"),
      text_key("data", SIGMA_FIELD(data), "token file (sigma-train prepare writes one)"),
      integer_key("global_batch", SIGMA_FIELD(global_batch), 1, 1 << 24, true, "sequences per step over all ranks"),
      integer_key("steps", SIGMA_FIELD(steps), 0, 1 << 30, false, "steps to train (total, including resumed ones)"),
      integer_key("seed", SIGMA_FIELD(seed), 0, std::numeric_limits<long long>::max(), true,
                  "seed of the weight init and the data order"),
      integer_key("ep_size", SIGMA_FIELD(ep_size), 1, 1 << 20, false,
                  "ranks per expert-parallel group (divides world size and n_experts)"),
      integer_key("threads", SIGMA_FIELD(threads), 1, 1024, false, "compute threads per rank (every kernel and sgemm)"),
      integer_key("log_every", SIGMA_FIELD(log_every), 1, 1 << 30, false, "steps between progress lines"),
      text_key("log_jsonl", SIGMA_FIELD(log_jsonl), "per-step JSON lines file (rank 0)"),
      text_key("heartbeat", SIGMA_FIELD(heartbeat), "heartbeat file rewritten every step (rank 0)"),
      integer_key("checkpoint_every", SIGMA_FIELD(checkpoint_every), 0, 1 << 30, false,
                  "steps between checkpoints; 0 = only on SIGTERM/SIGUSR1"),
      integer_key("memory_copy_every", SIGMA_FIELD(memory_copy_every), 0, 1 << 30, false,
                  "steps between in-memory copies of the state, kept on this node and a partner node (with "
                  "--ckpt-dir); 0 = off"),
      number_key("memory_copy_budget", SIGMA_FIELD(memory_copy_budget), 0, 1, false,
                 "widen the copy interval while a copy costs more than this share of the training time between "
                 "copies; 0 = every memory_copy_every steps"),
      text_key("memory_copy_dir", SIGMA_FIELD(memory_copy_dir), "node-local memory (tmpfs) for the in-memory copies"),
      number_key("peak_gflops", SIGMA_FIELD(peak_gflops), 0, 1e9, false,
                 "per-rank peak GFLOP/s for MFU; 0 = measure with sgemm at start"),
      integer_key("replica_check_every", SIGMA_FIELD(replica_check_every), 0, 1 << 30, false,
                  "steps between cross-replica weight-hash checks (silent data corruption); 0 = off"),
      // Guardrails (trainer/README.md, "Guardrails").
      flag_key("grad_norm_check", SIGMA_FIELD(guard.grad_norm_check),
               "compare the reduced gradient norm bitwise across replicas every step"),
      flag_key("skip_numerical_faults", SIGMA_FIELD(guard.skip_numerical_faults),
               "a non-finite step that a re-run reproduces skips its batch (false: stop with exit 11)"),
      integer_key("max_skipped_batches", SIGMA_FIELD(guard.max_skipped_batches), 0, 1 << 30, false,
                  "skipped batches after which the run stops (exit 11)"),
      integer_key("spike_window", SIGMA_FIELD(guard.spike_window), 0, 1 << 20, false,
                  "losses in the loss-spike window (median/MAD); 0 = no spike detection"),
      number_key("spike_mads", SIGMA_FIELD(guard.spike_mads), 0, 1e6, false,
                 "a spike is this many scaled MADs above the median"),
      number_key("spike_min_rise", SIGMA_FIELD(guard.spike_min_rise), 0, 1e6, false,
                 "... and at least this fraction above the median"),
      flag_key("spike_skip_data", SIGMA_FIELD(guard.spike_skip_data),
               "after a rollback skip the batches up to the spike (false: replay them)"),
      integer_key("max_rollbacks", SIGMA_FIELD(guard.max_rollbacks), 0, 1 << 30, false,
                  "loss-spike rollbacks after which the run stops (exit 11)"),
      number_key("straggler_margin", SIGMA_FIELD(guard.straggler_margin), 0, 1e6, false,
                 "a rank this fraction slower than the others' median compute time is slow; 0 = off"),
      integer_key("straggler_steps", SIGMA_FIELD(guard.straggler_steps), 1, 1 << 30, false,
                  "consecutive slow steps that make a rank a straggler"),
      number_key("straggler_min_seconds", SIGMA_FIELD(guard.straggler_min_seconds), 0, 1e6, false,
                 "compute-time differences below this are never a straggler"),
      text_key("metrics_textfile", SIGMA_FIELD(guard.metrics_textfile),
               "Prometheus textfile with per-rank step times (rank 0); empty = none"),
      // Fault injection, for tests and the demo.
      bitflip_key(),
      integer_key("inject_bitflip_rank", SIGMA_FIELD(fault.bitflip_rank), 0, 1 << 30, false,
                  "testing aid: rank of the bit flip"),
      integer_key("inject_bitflip_step", SIGMA_FIELD(fault.bitflip_step), -1, 1 << 30, false,
                  "testing aid: step of the bit flip"),
      integer_key("inject_bitflip_bit", SIGMA_FIELD(fault.bitflip_bit), 0, 31, false,
                  "testing aid: bit to flip (0-31)"),
      integer_key("inject_bitflip_index", SIGMA_FIELD(fault.bitflip_index), 0, 1 << 30, false,
                  "testing aid: element of the dense parameters or gradients"),
      flag_key("inject_repeat", SIGMA_FIELD(fault.repeat),
               "testing aid: the bit flip and NaN recur when the step is re-run (false: once)"),
      integer_key("inject_nan_at_step", SIGMA_FIELD(fault.nan_at_step), -1, 1 << 30, false,
                  "testing aid: poison the loss of the last rank at this step"),
      integer_key("inject_spike_at_step", SIGMA_FIELD(fault.spike_at_step), -1, 1 << 30, false,
                  "testing aid: the spike detector sees this step's loss multiplied (once)"),
      number_key("inject_spike_factor", SIGMA_FIELD(fault.spike_factor), 0, 1e12, false,
                 "testing aid: loss spike factor"),
      integer_key("inject_slow_rank", SIGMA_FIELD(fault.slow_rank), -1, 1 << 30, false,
                  "testing aid: rank to slow down"),
      number_key("inject_slow_factor", SIGMA_FIELD(fault.slow_factor), 1, 1e6, false,
                 "testing aid: its compute time is multiplied"),
      integer_key("inject_crash_rank", SIGMA_FIELD(fault.crash_rank), -1, 1 << 30, false,
                  "testing aid: rank killed (SIGKILL)"),
      integer_key("inject_crash_at_step", SIGMA_FIELD(fault.crash_at_step), -1, 1 << 30, false,
                  "testing aid: ... at this step"),
      integer_key("inject_hang_rank", SIGMA_FIELD(fault.hang_rank), -1, 1 << 30, false,
                  "testing aid: rank that hangs"),
      integer_key("inject_hang_at_step", SIGMA_FIELD(fault.hang_at_step), -1, 1 << 30, false,
                  "testing aid: ... at this step"),
      text_key("inject_node", SIGMA_FIELD(fault.node),
               "testing aid: the bit flip, slow, crash and hang hit their rank only on this node (empty: any)"),
  };
  return table;
}

#undef SIGMA_FIELD

std::string option_name(const Key& k) {
  std::string s = k.name;
  for (auto& ch : s)
    if (ch == '_') ch = '-';
  return s;
}

}  // namespace

void load_yaml_config(const std::string& path, TrainConfig& config) {
  const YAML::Node root = yaml::parse(yaml::read_file(path, "run config"), path);
  yaml::Section section(root, "", path, YAML::Mark());
  for (const auto& k : keys()) k.read(section, config);
  section.finish();
}

void add_config_options(po::options_description& options) {
  options.add_options()("config", po::value<std::string>(), "YAML run config; options given here override it");
  for (const auto& k : keys()) options.add_options()(option_name(k).c_str(), po::value<std::string>(), k.help);
}

void apply_command_line(const po::variables_map& vm, TrainConfig& config) {
  if (vm.count("config")) load_yaml_config(vm["config"].as<std::string>(), config);
  for (const auto& k : keys()) {
    std::string opt = option_name(k);
    if (!vm.count(opt)) continue;
    const auto& text = vm[opt].as<std::string>();
    try {
      k.parse(config, text);
    } catch (const BadValue& bad) {
      throw Error(ExitCode::usage, fmt::format("option --{}: expected {}, got '{}'", opt, bad.expected, text));
    }
  }
}

void validate_config(const TrainConfig& c) {
  const auto& m = c.model;
  auto fail = [](const std::string& msg) { throw Error(ExitCode::config, "config: " + msg); };
  if (m.d_model % m.n_heads != 0)
    fail(fmt::format("d_model={} must be divisible by n_heads={}", m.d_model, m.n_heads));
  if ((m.d_model / m.n_heads) % 2 != 0)
    fail(fmt::format("head size d_model/n_heads={} must be even for RoPE", m.d_model / m.n_heads));
  if (m.top_k.size() != 1 && m.top_k.size() != static_cast<size_t>(m.n_layers))
    fail(fmt::format("top_k has {} values; expected 1 or n_layers={}", m.top_k.size(), m.n_layers));
  for (int k : m.top_k)
    if (k > m.n_experts) fail(fmt::format("top_k={} exceeds n_experts={}", k, m.n_experts));
  if (m.n_experts % c.ep_size != 0)
    fail(fmt::format("n_experts={} is not divisible by ep_size={}", m.n_experts, c.ep_size));
  if (c.optim.min_lr > c.optim.lr) fail(fmt::format("min_lr={} exceeds lr={}", c.optim.min_lr, c.optim.lr));
  if (c.data.empty()) fail("no token file: set 'data' (YAML) or --data");
}

std::string config_to_yaml(const TrainConfig& config) {
  std::string out;
  for (const auto& k : keys()) out += fmt::format("{}: {}\n", k.name, k.text(config));
  return out;
}

std::string config_hash(const TrainConfig& config) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over "key=value;" of the resume-relevant keys
  for (const auto& k : keys()) {
    if (!k.in_hash) continue;
    for (char ch : fmt::format("{}={};", k.name, k.text(config))) {
      h ^= static_cast<unsigned char>(ch);
      h *= 1099511628211ull;
    }
  }
  return fmt::format("{:016x}", h);
}

}  // namespace sigma::trainer
