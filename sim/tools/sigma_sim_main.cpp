// sigma-sim: goodput of a training job on a large cluster under a scenario's failures, with sigma's measured
// detection, recovery and checkpoint costs. Prints a Markdown report; optionally writes the utilization curve
// as an SVG chart.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sigma/core/cli.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/sim/checkpoint_model.hpp"
#include "sigma/sim/memory_copy_model.hpp"
#include "sigma/sim/study.hpp"
#include "sigma/sim/svg_plot.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::sim;

namespace {

constexpr const char* kUsage = R"(usage: sigma-sim --scenario FILE [--seed N] [--max-spares N] [--plot FILE.svg]
Simulates the scenario, picks the spare count and checkpoint interval that maximise effective accelerator
utilization, and prints a Markdown report: the picks, where the time goes, the scenario's goals, an ablation of
sigma's mechanisms, utilization against the failure rate, and the highest rate at which 90% still holds.
exit codes: 0 ok, 2 usage, 3 scenario invalid, 5 file not found)";

constexpr double kSigmaPaperUtilization = 0.9445;

double percent(double share) { return 100 * share; }

constexpr const char* kIdleSpares = "spare nodes held idle";

// Where the cluster's accelerator time went, in percent of all of it: the shares in table order.
struct Loss {
  const char* what;
  double share;
};
std::vector<Loss> breakdown(const Scenario& s, const Evaluation& e) {
  const RunResult& r = e.result;
  const double job_share = static_cast<double>(s.cluster.nodes - e.spares) / s.cluster.nodes / r.horizon_s;
  return {{"useful training", r.useful_s * job_share},
          {kIdleSpares, 1.0 * e.spares / s.cluster.nodes},
          {"running narrower than full width", r.narrow_s * job_share},
          {"checkpoint stalls", r.stall_s * job_share},
          {"in-memory copies", r.memory_s * job_share},
          {"training redone after failures", r.redone_s * job_share},
          {"detection, restart, checkpoint load", r.recovery_s * job_share},
          {"waiting for a spare", r.waiting_s * job_share}};
}

void print_breakdown(const Scenario& s, const Evaluation& e) {
  for (const Loss& loss : breakdown(s, e)) {
    const bool spares = loss.what == kIdleSpares;
    fmt::print("| {}{} | {:.2f}% |\n", loss.what, spares ? fmt::format(" ({})", e.spares) : "", percent(loss.share));
  }
  fmt::print("\n");
}

void print_scenario(const Scenario& s) {
  fmt::print("# sigma-sim: {}\n\n", s.source);
  fmt::print("{} nodes x {} accelerators, {:g} days, {} replications from seed {}; {:g} interruptions per "
             "accelerator-day.\nCheckpoint: save {:.1f} s, load {:.1f} s, {} (stall {:.2f} s per save){}.\n",
             s.cluster.nodes, s.cluster.accelerators_per_node, s.horizon_days, s.replications, s.seed,
             s.failures_per_accelerator_day, save_s(s), load_s(s), s.checkpoint.async ? "asynchronous" : "synchronous",
             save_stall_s(s),
             !s.checkpoint.async ? "" : s.checkpoint.commit_when_durable ? ", committed when durable"
                                                                         : ", committed at the next save");
  fmt::print("Liveness detection {}. ", s.policy.liveness ? "on" : "off");
  if (s.memory_copy.enabled) {
    fmt::print("In-memory peer copies every {} (step {:g} s, copy {:g}% of a step, restore {:.2f} s, partner lost in "
               "{:g}% of interruptions). ",
               s.memory_copy.every_steps > 0 ? fmt::format("{} steps", s.memory_copy.every_steps) : "K steps (closed form)",
               s.memory_copy.step_s, percent(s.memory_copy.step_overhead), memory_restore_s(s),
               percent(s.memory_copy.partner_loss_fraction));
  } else {
    fmt::print("No in-memory peer copies. ");
  }
  fmt::print("Shrink and grow {}.\n\n", s.shrink.enabled ? "on" : "off");
}

Scenario print_picks(Scenario s, int max_spares) {
  const SpareSearch spares = best_spares(s, max_spares);
  fmt::print("## Spare count (each at its Young/Daly interval)\n\n| spares | interval (s) | utilization | "
             "interruptions/run | spare exhaustions/run | shrinks/run |\n|---|---|---|---|---|---|\n");
  for (const auto& e : spares.all) {
    fmt::print("| {} | {:.0f} | {:.2f}% | {:.1f} | {:.2f} | {:.1f} |\n", e.spares, e.interval_s,
               percent(e.result.utilization), e.result.interruptions, e.result.spare_exhaustions, e.result.shrinks);
  }
  s.cluster.spare_nodes = spares.best.spares;
  fmt::print("\nBest: {} spare nodes ({:.1f}% of the cluster).\n\n", spares.best.spares,
             percent(1.0 * spares.best.spares / s.cluster.nodes));

  const IntervalSweep sweep = sweep_interval(s, 25, 8.0);
  fmt::print("## Checkpoint interval at {} spares (job MTBF {:.0f} s)\n\n| interval (s) | utilization |\n|---|---|\n",
             s.cluster.spare_nodes, job_mtbf_s(s));
  for (const auto& p : sweep.points) fmt::print("| {:.0f} | {:.3f}% |\n", p.interval_s, percent(p.utilization));
  fmt::print("\nYoung/Daly: {:.0f} s -> {:.3f}%; best of the sweep: {:.0f} s -> {:.3f}% (difference {:.3f} points).\n\n",
             sweep.young_daly.interval_s, percent(sweep.young_daly.utilization), sweep.best.interval_s,
             percent(sweep.best.utilization), percent(sweep.best.utilization - sweep.young_daly.utilization));

  fmt::print("## Result: {} spares, Young/Daly interval\n\n| accelerator time | share |\n|---|---|\n",
             spares.best.spares);
  print_breakdown(s, spares.best);
  fmt::print("Effective accelerator utilization: **{:.2f}%** (the SIGMA paper's figure: {:.2f}%: {}).\n\n",
             percent(spares.best.result.utilization), percent(kSigmaPaperUtilization),
             spares.best.result.utilization > kSigmaPaperUtilization ? "above" : "NOT above");
  fmt::print("Interruptions per run by class:");
  for (size_t i = 0; i < s.classes.size(); ++i) {
    fmt::print(" {} {:.1f}{}", s.classes[i].name, spares.best.result.per_class[i], i + 1 < s.classes.size() ? "," : ".");
  }
  const RunResult& r = spares.best.result;
  fmt::print(" Faulty nodes put back into service caused {:.1f} of them.\n", r.bad_node_failures);
  fmt::print("Restores per run: {:.1f} from memory{}, {:.1f} from the file checkpoint; {:.1f} shrinks and {:.1f} grows "
             "per run.\n\n",
             r.memory_restores,
             spares.best.every_steps > 0 ? fmt::format(" (copies every {} steps)", spares.best.every_steps) : "",
             r.file_restores, r.shrinks, r.grows);
  return s;
}

void print_goals(const Scenario& s, int max_spares) {
  if (s.goals.empty()) return;
  fmt::print("## Goals (best spare count at each rate)\n\n| interruptions per accelerator-day | goal | utilization | "
             "spares | interval (s) | copies every (steps) | met |\n|---|---|---|---|---|---|---|\n");
  for (const GoalCheck& g : check_goals(s, max_spares)) {
    fmt::print("| {:g} | {:.2f}% | {:.2f}% | {} | {:.0f} | {} | {} |\n", g.goal.failures_per_accelerator_day,
               percent(g.goal.utilization), percent(g.best.result.utilization), g.best.spares, g.best.interval_s,
               g.best.every_steps > 0 ? std::to_string(g.best.every_steps) : "-", g.met ? "yes" : "**NO**");
  }
  fmt::print("\n");
}

void print_ablation(const Scenario& s, int max_spares) {
  const std::vector<Variant> variants = ablation(s, max_spares);
  fmt::print("## Ablation (spares re-optimised for each row)\n\n| variant | spares | interval (s) | copies every "
             "(steps) | utilization | interruptions/run | requeues/run | spare exhaustions/run | file restores/run | "
             "shrinks/run |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& v : variants) {
    const Evaluation& e = v.evaluation;
    fmt::print("| {} | {} | {:.0f} | {} | {:.2f}% | {:.1f} | {:.1f} | {:.2f} | {:.1f} | {:.1f} |\n", v.name, e.spares,
               e.interval_s, e.every_steps > 0 ? std::to_string(e.every_steps) : "-", percent(e.result.utilization),
               e.result.interruptions, e.result.requeues, e.result.spare_exhaustions, e.result.file_restores,
               e.result.shrinks);
  }
  fmt::print("\nWhere the time goes in each variant (percent of all accelerator time):\n\n| variant |");
  const std::vector<Loss> columns = breakdown(s, variants.front().evaluation);
  for (const Loss& loss : columns) fmt::print(" {} |", loss.what);
  fmt::print("\n|---|");
  for (size_t i = 0; i < columns.size(); ++i) fmt::print("---|");
  fmt::print("\n");
  for (const auto& v : variants) {
    fmt::print("| {} |", v.name);
    for (const Loss& loss : breakdown(s, v.evaluation)) fmt::print(" {:.2f}% |", percent(loss.share));
    fmt::print("\n");
  }
  fmt::print("\n");
}

// The plot, replaced whole through core's helper; an error names the option.
void write_file(const std::string& path, const std::string& content) {
  try {
    write_file_durably(path, content);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("--plot {}: cannot write: {}", path, e.what()));
  }
}

void print_curve(const Scenario& s, int max_spares, const std::string& plot) {
  std::vector<double> rates;
  for (int i = 0; i <= 14; ++i) rates.push_back(2.5e-4 * std::pow(2.0, i / 2.0));
  const auto curve = utilization_curve(s, rates, max_spares);
  const auto before = utilization_curve(without_recovery_mechanisms(s), rates, max_spares);
  const auto bare = utilization_curve(without_mechanisms(s), rates, max_spares);
  fmt::print("## Utilization against the failure rate (best spare count at each)\n\n| interruptions per "
             "accelerator-day | job MTBF (h) | sigma: spares | sigma: utilization | without the recovery "
             "mechanisms: spares | utilization | none of the mechanisms: spares | utilization |\n"
             "|---|---|---|---|---|---|---|---|\n");
  Series with{"sigma", "#236", {}, {}}, older{"sigma without liveness, durable commits, memory copies, shrink", "#6a6",
                                            {}, {}},
      without{"none of the mechanisms", "#999", {}, {}};
  for (size_t i = 0; i < curve.size(); ++i) {
    const RatePoint& p = curve[i];
    Scenario v = s;
    v.failures_per_accelerator_day = p.failures_per_accelerator_day;
    v.cluster.spare_nodes = p.best.spares;
    fmt::print("| {:.3g} | {:.2f} | {} | {:.2f}% | {} | {:.2f}% | {} | {:.2f}% |\n", p.failures_per_accelerator_day,
               job_mtbf_s(v) / 3600, p.best.spares, percent(p.best.result.utilization), before[i].best.spares,
               percent(before[i].best.result.utilization), bare[i].best.spares,
               percent(bare[i].best.result.utilization));
    for (auto [series, point] : {std::pair{&with, &p}, std::pair{&older, &before[i]}, std::pair{&without, &bare[i]}}) {
      series->x.push_back(p.failures_per_accelerator_day);
      series->y.push_back(percent(point->best.result.utilization));
    }
  }
  const double low = rates.front(), high = 0.1;
  const double holds90 = rate_holding(s, 0.90, low, high, max_spares);
  if (holds90 <= low) fmt::print("\n90% utilization is not held even at {:.3g} interruptions per accelerator-day.\n", low);
  else if (holds90 >= high) fmt::print("\n90% utilization holds at {:.3g} interruptions per accelerator-day and beyond.\n", high);
  else {
    fmt::print("\n90% utilization holds up to {:.3g} interruptions per accelerator-day ({:.1f}x the 2e-3 goal "
               "rate).\n", holds90, holds90 / 2e-3);
  }
  LineChart chart{"Effective accelerator utilization, 256 nodes x 8 accelerators, 150 days",
                  "interruptions per accelerator-day (log scale)", "utilization (%)", {with, older, without}, 60, 100,
                  {{true, percent(kSigmaPaperUtilization), "SIGMA paper 94.45%"}, {true, 90, "90%"},
                   {false, 2e-3, "2e-3"}}};
  if (!plot.empty()) write_file(plot, to_svg(chart));
}

ExitCode run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("scenario", po::value<std::string>(), "scenario YAML file")(
      "seed", po::value<int>(), "first seed (overrides run.seed)")(
      "max-spares", po::value<int>()->default_value(40), "largest spare count searched")(
      "plot", po::value<std::string>()->default_value(""), "write utilization against failure rate as SVG here");
  CommandLine line = parse_command_line(argc, argv, options);
  const po::variables_map& vm = line.options;
  if (vm.count("help")) {
    fmt::print("{}\n\n{}", kUsage, fmt::streamed(options));
    return ExitCode::ok;
  }
  if (!line.args.empty()) usage_error(fmt::format("unexpected argument \"{}\"", line.args.front()));
  if (!vm.count("scenario")) usage_error("--scenario FILE is required");
  const int max_spares = vm["max-spares"].as<int>();
  if (max_spares < 0) usage_error("--max-spares: expected 0 or more");
  Scenario s = load_scenario(vm["scenario"].as<std::string>());
  if (vm.count("seed")) {
    if (vm["seed"].as<int>() < 0) usage_error("--seed: expected 0 or more");
    s.seed = static_cast<uint64_t>(vm["seed"].as<int>());
  }
  print_scenario(s);
  const Scenario picked = print_picks(s, max_spares);
  print_goals(picked, max_spares);
  print_ablation(picked, max_spares);
  print_curve(picked, max_spares, vm["plot"].as<std::string>());
  return ExitCode::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("sigma-sim", [&] { return run(argc, argv); });
}
