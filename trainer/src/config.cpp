// One table of config keys drives the YAML loader, the command line and the printed config.
#include "sigma/trainer/config.hpp"

#include <charconv>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma::trainer {
namespace po = boost::program_options;

namespace {

// A bad value: `where` already names the file/option; `expected` says what would have been accepted.
struct BadValue {
  std::string expected;
};

long long parse_integer(const std::string& text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) throw BadValue{"an integer"};
  return value;
}

int parse_int_in(const std::string& text, long long lo, long long hi) {
  long long v = parse_integer(text);
  if (v < lo || v > hi) throw BadValue{fmt::format("an integer in [{}, {}]", lo, hi)};
  return static_cast<int>(v);
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

std::vector<int> parse_top_k(const std::string& text) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(parse_int_in(item, 1, 1 << 20));
  if (values.empty()) throw BadValue{"an integer or a comma-separated list of integers (one per layer)"};
  return values;
}

bool parse_bool(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw BadValue{"true or false"};
}

FaultTarget parse_fault_target(const std::string& text) {
  if (text == "none") return FaultTarget::none;
  if (text == "param") return FaultTarget::param;
  if (text == "grad") return FaultTarget::grad;
  throw BadValue{"one of none, param, grad"};
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

struct Key {
  const char* name;
  const char* help;
  std::function<void(TrainConfig&, const std::string&)> set;
  std::function<std::string(const TrainConfig&)> get;
  bool in_hash;  // part of the resume contract
};

#define SIGMA_INT_KEY(field, lo, hi, hash, help)                                                  \
  Key{#field, help, [](TrainConfig& c, const std::string& s) { c.field = parse_int_in(s, lo, hi); }, \
      [](const TrainConfig& c) { return std::to_string(c.field); }, hash}
#define SIGMA_REAL_KEY(name, field, lo, hi, hash, help)                                                 \
  Key{name, help, [](TrainConfig& c, const std::string& s) { c.field = static_cast<float>(parse_real(s, lo, hi)); }, \
      [](const TrainConfig& c) { return fmt::format("{}", c.field); }, hash}
#define SIGMA_NAMED_INT_KEY(name, field, lo, hi, help)                                                     \
  Key{name, help, [](TrainConfig& c, const std::string& s) { c.field = parse_int_in(s, lo, hi); },           \
      [](const TrainConfig& c) { return std::to_string(c.field); }, false}
#define SIGMA_DOUBLE_KEY(name, field, lo, hi, help)                                                        \
  Key{name, help, [](TrainConfig& c, const std::string& s) { c.field = parse_real(s, lo, hi); },             \
      [](const TrainConfig& c) { return fmt::format("{}", c.field); }, false}
#define SIGMA_BOOL_KEY(name, field, help)                                                                  \
  Key{name, help, [](TrainConfig& c, const std::string& s) { c.field = parse_bool(s); },                     \
      [](const TrainConfig& c) { return std::string(c.field ? "true" : "false"); }, false}
#define SIGMA_STRING_KEY(field, help) \
  Key{#field, help, [](TrainConfig& c, const std::string& s) { c.field = s; }, \
      [](const TrainConfig& c) { return c.field; }, false}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      Key{"vocab_size", "vocabulary size (256 for byte-level token files)",
          [](TrainConfig& c, const std::string& s) { c.model.vocab_size = parse_int_in(s, 2, 1 << 24); },
          [](const TrainConfig& c) { return std::to_string(c.model.vocab_size); }, true},
      SIGMA_INT_KEY(model.d_model, 2, 1 << 16, true, "model width"),
      SIGMA_INT_KEY(model.n_layers, 1, 1024, true, "number of transformer blocks"),
      SIGMA_INT_KEY(model.n_heads, 1, 1024, true, "attention heads"),
      SIGMA_INT_KEY(model.seq_len, 1, 1 << 16, true, "tokens per sequence"),
      SIGMA_INT_KEY(model.n_experts, 1, 1 << 16, true, "experts per MoE layer"),
      SIGMA_INT_KEY(model.d_ff, 1, 1 << 20, true, "hidden size of each SwiGLU expert"),
      Key{"top_k", "experts per token: one integer, or one per layer (\"2,2,1\")",
          [](TrainConfig& c, const std::string& s) { c.model.top_k = parse_top_k(s); },
          [](const TrainConfig& c) { return join(c.model.top_k); }, true},
      SIGMA_REAL_KEY("capacity_factor", model.capacity_factor, 0, 1e6, true, "expert capacity factor; 0 = unlimited"),
      SIGMA_REAL_KEY("aux_loss_coef", model.aux_loss_coef, 0, 1e6, true, "global-batch load-balancing loss weight"),
      SIGMA_REAL_KEY("z_loss_coef", model.z_loss_coef, 0, 1e6, true, "router z-loss weight"),
      SIGMA_REAL_KEY("rope_theta", model.rope_theta, 1, 1e12, true, "RoPE base"),
      SIGMA_REAL_KEY("init_std", model.init_std, 0, 10, true, "std of the normal weight init"),
      SIGMA_REAL_KEY("lr", optim.lr, 0, 10, true, "peak learning rate"),
      SIGMA_REAL_KEY("min_lr", optim.min_lr, 0, 10, true, "learning rate at the end of the cosine decay"),
      SIGMA_INT_KEY(optim.warmup_steps, 0, 1 << 30, true, "linear warm-up steps"),
      SIGMA_REAL_KEY("weight_decay", optim.weight_decay, 0, 10, true, "AdamW decoupled weight decay (matrices only)"),
      SIGMA_REAL_KEY("beta1", optim.beta1, 0, 0.999999, true, "AdamW beta1"),
      SIGMA_REAL_KEY("beta2", optim.beta2, 0, 0.999999, true, "AdamW beta2"),
      SIGMA_REAL_KEY("eps", optim.eps, 0, 1, true, "AdamW epsilon"),
      SIGMA_REAL_KEY("grad_clip", optim.grad_clip, 0, 1e9, true, "global grad-norm clip; 0 = off"),
      SIGMA_STRING_KEY(data, "token file (sigma-train prepare writes one)"),
      SIGMA_INT_KEY(global_batch, 1, 1 << 24, true, "sequences per step over all ranks"),
      SIGMA_INT_KEY(steps, 0, 1 << 30, false, "steps to train (total, including resumed ones)"),
      Key{"seed", "seed of the weight init and the data order",
          [](TrainConfig& c, const std::string& s) {
            long long v = parse_integer(s);
            if (v < 0) throw BadValue{"a non-negative integer"};
            c.seed = static_cast<uint64_t>(v);
          },
          [](const TrainConfig& c) { return std::to_string(c.seed); }, true},
      SIGMA_INT_KEY(ep_size, 1, 1 << 20, false, "ranks per expert-parallel group (divides world size and n_experts)"),
      SIGMA_INT_KEY(threads, 1, 1024, false, "compute threads per rank (every kernel and sgemm)"),
      SIGMA_INT_KEY(log_every, 1, 1 << 30, false, "steps between progress lines"),
      SIGMA_STRING_KEY(log_jsonl, "per-step JSON lines file (rank 0)"),
      SIGMA_STRING_KEY(heartbeat, "heartbeat file rewritten every step (rank 0)"),
      SIGMA_INT_KEY(checkpoint_every, 0, 1 << 30, false, "steps between checkpoints; 0 = only on SIGTERM/SIGUSR1"),
      Key{"peak_gflops", "per-rank peak GFLOP/s for MFU; 0 = measure with sgemm at start",
          [](TrainConfig& c, const std::string& s) { c.peak_gflops = parse_real(s, 0, 1e9); },
          [](const TrainConfig& c) { return fmt::format("{}", c.peak_gflops); }, false},
      SIGMA_INT_KEY(replica_check_every, 0, 1 << 30, false,
                    "steps between cross-replica weight-hash checks (silent data corruption); 0 = off"),
      // Guardrails (trainer/README.md, "Guardrails").
      SIGMA_BOOL_KEY("grad_norm_check", guard.grad_norm_check,
                     "compare the reduced gradient norm bitwise across replicas every step"),
      SIGMA_BOOL_KEY("skip_numerical_faults", guard.skip_numerical_faults,
                     "a non-finite step that a re-run reproduces skips its batch (false: stop with exit 11)"),
      SIGMA_NAMED_INT_KEY("max_skipped_batches", guard.max_skipped_batches, 0, 1 << 30,
                          "skipped batches after which the run stops (exit 11)"),
      SIGMA_NAMED_INT_KEY("spike_window", guard.spike_window, 0, 1 << 20,
                          "losses in the loss-spike window (median/MAD); 0 = no spike detection"),
      SIGMA_DOUBLE_KEY("spike_mads", guard.spike_mads, 0, 1e6, "a spike is this many scaled MADs above the median"),
      SIGMA_DOUBLE_KEY("spike_min_rise", guard.spike_min_rise, 0, 1e6,
                       "... and at least this fraction above the median"),
      SIGMA_BOOL_KEY("spike_skip_data", guard.spike_skip_data,
                     "after a rollback skip the batches up to the spike (false: replay them)"),
      SIGMA_NAMED_INT_KEY("max_rollbacks", guard.max_rollbacks, 0, 1 << 30,
                          "loss-spike rollbacks after which the run stops (exit 11)"),
      SIGMA_DOUBLE_KEY("straggler_margin", guard.straggler_margin, 0, 1e6,
                       "a rank this fraction slower than the others' median compute time is slow; 0 = off"),
      SIGMA_NAMED_INT_KEY("straggler_steps", guard.straggler_steps, 1, 1 << 30,
                          "consecutive slow steps that make a rank a straggler"),
      SIGMA_DOUBLE_KEY("straggler_min_seconds", guard.straggler_min_seconds, 0, 1e6,
                       "compute-time differences below this are never a straggler"),
      SIGMA_STRING_KEY(guard.metrics_textfile, "Prometheus textfile with per-rank step times (rank 0); empty = none"),
      // Fault injection, for tests and the demo.
      Key{"inject_bitflip", "testing aid: flip a bit in a dense parameter or reduced gradient (none, param, grad)",
          [](TrainConfig& c, const std::string& s) { c.fault.bitflip = parse_fault_target(s); },
          [](const TrainConfig& c) { return std::string(fault_target_name(c.fault.bitflip)); }, false},
      SIGMA_NAMED_INT_KEY("inject_bitflip_rank", fault.bitflip_rank, 0, 1 << 30, "testing aid: rank of the bit flip"),
      SIGMA_NAMED_INT_KEY("inject_bitflip_step", fault.bitflip_step, -1, 1 << 30, "testing aid: step of the bit flip"),
      SIGMA_NAMED_INT_KEY("inject_bitflip_bit", fault.bitflip_bit, 0, 31, "testing aid: bit to flip (0-31)"),
      SIGMA_NAMED_INT_KEY("inject_bitflip_index", fault.bitflip_index, 0, 1 << 30,
                          "testing aid: element of the dense parameters or gradients"),
      SIGMA_BOOL_KEY("inject_repeat", fault.repeat,
                     "testing aid: the bit flip and NaN recur when the step is re-run (false: once)"),
      SIGMA_NAMED_INT_KEY("inject_nan_at_step", fault.nan_at_step, -1, 1 << 30,
                          "testing aid: poison the loss of the last rank at this step"),
      SIGMA_NAMED_INT_KEY("inject_spike_at_step", fault.spike_at_step, -1, 1 << 30,
                          "testing aid: the spike detector sees this step's loss multiplied (once)"),
      SIGMA_DOUBLE_KEY("inject_spike_factor", fault.spike_factor, 0, 1e12, "testing aid: loss spike factor"),
      SIGMA_NAMED_INT_KEY("inject_slow_rank", fault.slow_rank, -1, 1 << 30, "testing aid: rank to slow down"),
      SIGMA_DOUBLE_KEY("inject_slow_factor", fault.slow_factor, 1, 1e6, "testing aid: its compute time is multiplied"),
      SIGMA_NAMED_INT_KEY("inject_crash_rank", fault.crash_rank, -1, 1 << 30, "testing aid: rank killed (SIGKILL)"),
      SIGMA_NAMED_INT_KEY("inject_crash_at_step", fault.crash_at_step, -1, 1 << 30, "testing aid: ... at this step"),
      SIGMA_NAMED_INT_KEY("inject_hang_rank", fault.hang_rank, -1, 1 << 30, "testing aid: rank that hangs"),
      SIGMA_NAMED_INT_KEY("inject_hang_at_step", fault.hang_at_step, -1, 1 << 30, "testing aid: ... at this step"),
      Key{"inject_node", "testing aid: the bit flip, slow, crash and hang hit their rank only on this node (empty: any)",
          [](TrainConfig& c, const std::string& s) { c.fault.node = s; },
          [](const TrainConfig& c) { return c.fault.node; }, false},
  };
  return table;
}

std::string short_name(const char* name) {
  std::string s = name;
  auto dot = s.rfind('.');
  return dot == std::string::npos ? s : s.substr(dot + 1);
}

const Key* find_key(const std::string& name) {
  for (const auto& k : keys())
    if (short_name(k.name) == name) return &k;
  return nullptr;
}

std::string option_name(const Key& k) {
  std::string s = short_name(k.name);
  for (auto& ch : s)
    if (ch == '_') ch = '-';
  return s;
}

std::string yaml_scalar_text(const YAML::Node& value) {
  if (value.IsSequence()) {
    std::string out;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].IsScalar()) throw BadValue{"a list of integers"};
      if (i) out += ',';
      out += value[i].Scalar();
    }
    return out;
  }
  if (!value.IsScalar()) throw BadValue{"a scalar value"};
  return value.Scalar();
}

std::string where(const std::string& path, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", path, mark.line + 1, mark.column + 1);
}

}  // namespace

void load_yaml_config(const std::string& path, TrainConfig& config) {
  std::string text;
  try {
    text = read_regular_file(path, kMaxConfigBytes, "config file");
  } catch (const Error& e) {
    if (e.code() != ExitCode::not_found) throw;
    throw Error(ExitCode::not_found, fmt::format("{}: config file not found or not readable", path));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
    if (const auto second = yaml::second_document(text))
      throw Error(ExitCode::config, fmt::format("{}: a second YAML document; expected one", where(path, *second)));
  } catch (const YAML::ParserException& e) {
    throw Error(ExitCode::config, fmt::format("{}: not valid YAML: {}", where(path, e.mark), e.msg));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw Error(ExitCode::config, fmt::format("{}: expected a map of key: value", where(path, root.Mark())));
  std::set<std::string> seen;
  for (const auto& item : root) {
    std::string name = item.first.as<std::string>();
    if (!seen.insert(name).second)
      throw Error(ExitCode::config, fmt::format("{}: key '{}' is given twice", where(path, item.first.Mark()), name));
    const Key* key = find_key(name);
    if (!key)
      throw Error(ExitCode::config, fmt::format("{}: unknown key '{}' (sigma-train --help lists the keys)",
                                                where(path, item.first.Mark()), name));
    try {
      key->set(config, yaml_scalar_text(item.second));
    } catch (const BadValue& bad) {
      throw Error(ExitCode::config, fmt::format("{}: key '{}': expected {}, got '{}'", where(path, item.second.Mark()),
                                                name, bad.expected, YAML::Dump(item.second)));
    }
  }
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
      k.set(config, text);
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
  for (const auto& k : keys()) out += fmt::format("{}: {}\n", short_name(k.name), k.get(config));
  return out;
}

std::string config_hash(const TrainConfig& config) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over "key=value;" of the resume-relevant keys
  for (const auto& k : keys()) {
    if (!k.in_hash) continue;
    for (char ch : fmt::format("{}={};", short_name(k.name), k.get(config))) {
      h ^= static_cast<unsigned char>(ch);
      h *= 1099511628211ull;
    }
  }
  return fmt::format("{:016x}", h);
}

}  // namespace sigma::trainer
