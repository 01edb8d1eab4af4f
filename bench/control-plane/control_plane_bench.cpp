// The heartbeat directory and the ledger at scale, without a cluster:
//   1. per beat: the cost of one progress beat (write_heartbeat) and one liveness beat (the same atomic replace,
//      the liveness record's size) in a directory holding R ranks' files;
//   2. per supervisor poll: read_heartbeats + read_liveness of that directory (what sigma-launch supervise reads
//      every 0.25 s), at R = 64, 512, 2,048 ranks by default, each against the first R measured in the same run;
//      then the same with progress files alone (protocol version 2: liveness by datagram, no alive-<r> files);
//   3. concurrent ledger appends: W processes appending through append_event (one write(2) under flock, fsync)
//      to one ledger, at W = 4, 16, 64 by default, against the first W.
// usage: sigma_control_plane_bench --dir DIR [--ranks 64,512,2048] [--writers 4,16,64] [--appends N] [--scans N]
// DIR must be a directory this user owns that no one else can write (the heartbeat helpers refuse others).
// Figures are medians over rounds; nothing is asserted but that every record written is read back.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sigma/contracts/heartbeat.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/wall_clock.hpp"

namespace {

constexpr const char* kAttempt = "bench.1";

double clock_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double percentile(std::vector<double> values, double share) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[std::min(values.size() - 1, static_cast<size_t>(share * values.size()))];
}

std::vector<int> counts(const std::string& option, const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const int value = std::atoi(text.substr(start, end - start).c_str());
    if (value < 1 || value > 100000) {
      throw sigma::Error(sigma::ExitCode::usage,
                         fmt::format("--{} \"{}\": expected comma-separated counts from 1 to 100000", option, text));
    }
    out.push_back(value);
    start = end + 1;
  }
  return out;
}

sigma::Heartbeat beat_of(int rank, long step) {
  const double now = sigma::now_seconds();
  return sigma::Heartbeat{rank, step, now, fmt::format("n{}", rank / 32 + 1), 0, now - 5, now - 4, now - 3};
}

// The liveness record a rank's thread writes (heartbeat.cpp's LivenessBeat), through the same helper.
void write_liveness(const std::string& dir, int rank) {
  sigma::write_file_durably(dir + "/alive-" + std::to_string(rank),
                            nlohmann::json{{"time", sigma::now_seconds()}, {"attempt", kAttempt}, {"node", "n1"}}.dump(),
                            sigma::Durability::atomic_only);
}

struct BeatFigures {
  int ranks = 0;
  double progress_write_us = 0, liveness_write_us = 0, scan_ms = 0, progress_scan_ms = 0;
};

// One directory of `ranks` ranks' progress and liveness files; each write figure is the median over 5 rounds
// of the mean over one write per rank (at least 512 writes a round), the scan the median of `scans` scans.
BeatFigures beat_figures(const std::string& root, int ranks, int scans) {
  const std::string dir = fmt::format("{}/heartbeats-{}", root, ranks);
  sigma::reset_heartbeat_dir(dir);
  const int per_round = std::max(ranks, 512);
  std::vector<double> progress, liveness, scan;
  long step = 0;
  for (int round = 0; round < 5; ++round) {
    ++step;
    double start = clock_s();
    for (int i = 0; i < per_round; ++i) sigma::write_heartbeat(dir, beat_of(i % ranks, step));
    progress.push_back((clock_s() - start) / per_round * 1e6);
    start = clock_s();
    for (int i = 0; i < per_round; ++i) write_liveness(dir, i % ranks);
    liveness.push_back((clock_s() - start) / per_round * 1e6);
  }
  for (int i = 0; i < scans; ++i) {
    const double start = clock_s();
    const auto beats = sigma::read_heartbeats(dir, std::string(kAttempt));
    const auto alive = sigma::read_liveness(dir, std::string(kAttempt));
    scan.push_back((clock_s() - start) * 1e3);
    if (static_cast<int>(beats.size()) != ranks || static_cast<int>(alive.size()) != ranks) {
      throw sigma::Error(sigma::ExitCode::internal, fmt::format("{}: read {} beats and {} liveness records of {} ranks",
                                                               dir, beats.size(), alive.size(), ranks));
    }
  }
  // Protocol version 2: liveness arrives as datagrams, and the same two reads find progress files alone.
  for (int rank = 0; rank < ranks; ++rank) std::filesystem::remove(fmt::format("{}/alive-{}", dir, rank));
  std::vector<double> progress_scan;
  for (int i = 0; i < scans; ++i) {
    const double start = clock_s();
    const auto beats = sigma::read_heartbeats(dir, std::string(kAttempt));
    const auto alive = sigma::read_liveness(dir, std::string(kAttempt));
    progress_scan.push_back((clock_s() - start) * 1e3);
    if (static_cast<int>(beats.size()) != ranks || !alive.empty()) {
      throw sigma::Error(sigma::ExitCode::internal, fmt::format("{}: read {} beats and {} liveness records, expected {} "
                                                               "and none", dir, beats.size(), alive.size(), ranks));
    }
  }
  std::filesystem::remove_all(dir);
  return {ranks, median(progress), median(liveness), median(scan), median(progress_scan)};
}

struct LedgerFigures {
  int writers = 0, appends = 0;
  double wall_s = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
};

// `writers` processes, released together, each appending `appends` events; every latency is written back to a
// file per writer. The ledger must then hold every line whole.
LedgerFigures ledger_figures(const std::string& root, int writers, int appends) {
  const std::string ledger = fmt::format("{}/ledger-{}.jsonl", root, writers);
  std::filesystem::remove(ledger);
  int gate[2];
  if (pipe(gate) != 0) throw sigma::Error(sigma::ExitCode::internal, "pipe failed");
  std::vector<pid_t> children;
  for (int w = 0; w < writers; ++w) {
    const pid_t pid = fork();
    if (pid < 0) throw sigma::Error(sigma::ExitCode::internal, "fork failed");
    if (pid == 0) {
      close(gate[1]);
      char byte;
      (void)!read(gate[0], &byte, 1);  // returns at EOF: every writer starts at once
      std::ofstream out(fmt::format("{}/latency-{}-{}", root, writers, w));
      for (int i = 0; i < appends; ++i) {
        const double start = clock_s();
        sigma::append_event(ledger, sigma::Event{"launcher", "bench_append", {{"writer", w}, {"i", i}}, "", "", "", ""});
        out << (clock_s() - start) * 1e3 << '\n';
      }
      out.close();
      _exit(out ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  const double start = clock_s();
  close(gate[1]);
  bool failed = false;
  for (const pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  const double wall = clock_s() - start;
  if (failed) throw sigma::Error(sigma::ExitCode::internal, fmt::format("a ledger writer of {} failed", writers));
  std::vector<double> latencies;
  for (int w = 0; w < writers; ++w) {
    const std::string path = fmt::format("{}/latency-{}-{}", root, writers, w);
    std::ifstream in(path);
    for (double ms; in >> ms;) latencies.push_back(ms);
    std::filesystem::remove(path);
  }
  const auto contents = sigma::read_ledger(ledger);
  if (static_cast<int>(contents.events.size()) != writers * appends || contents.torn_tail || !contents.bad_lines.empty()) {
    throw sigma::Error(sigma::ExitCode::internal, fmt::format("{}: {} whole events of {} appended", ledger,
                                                             contents.events.size(), writers * appends));
  }
  std::filesystem::remove(ledger);
  return {writers, appends, wall, percentile(latencies, 0.5), percentile(latencies, 0.99),
          *std::max_element(latencies.begin(), latencies.end())};
}

sigma::ExitCode run(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string dir, ranks_text = "64,512,2048", writers_text = "4,16,64";
  int appends = 32, scans = 20;
  po::options_description options("sigma_control_plane_bench");
  options.add_options()("help", "this text")("dir", po::value(&dir), "scratch directory (local disk)")(
      "ranks", po::value(&ranks_text), "heartbeat directory sizes")("writers", po::value(&writers_text),
                                                                  "concurrent ledger writers")(
      "appends", po::value(&appends), "appends per writer")("scans", po::value(&scans), "scans per size");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options;
    return sigma::ExitCode::ok;
  }
  if (dir.empty()) throw sigma::Error(sigma::ExitCode::usage, "--dir: expected a scratch directory");
  if (appends < 1 || appends > 10000) throw sigma::Error(sigma::ExitCode::usage, "--appends: expected 1 to 10000");
  if (scans < 1 || scans > 10000) throw sigma::Error(sigma::ExitCode::usage, "--scans: expected 1 to 10000");
  const auto rank_counts = counts("ranks", ranks_text);
  const auto writer_counts = counts("writers", writers_text);
  std::filesystem::create_directories(dir);
  setenv("SIGMA_HEARTBEAT_ATTEMPT", kAttempt, 1);

  fmt::print("heartbeat files in {} (median of 5 rounds per write, of {} scans)\n", dir, scans);
  fmt::print("| ranks | progress beat write | liveness beat write | supervisor scan (read_heartbeats + read_liveness) "
             "| scan per rank | scan vs {} ranks | scan per rank vs {} ranks | scan share of a 0.25 s poll "
             "| the same scan, progress files only (liveness by datagram) |\n",
             rank_counts.front(), rank_counts.front());
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  BeatFigures base{};
  for (const int ranks : rank_counts) {
    const BeatFigures f = beat_figures(dir, ranks, scans);
    if (base.ranks == 0) base = f;
    fmt::print("| {} | {:.1f} us | {:.1f} us | {:.2f} ms | {:.2f} us | {:.2f}x | {:.2f}x | {:.1f}% | {:.2f} ms |\n", ranks,
               f.progress_write_us, f.liveness_write_us, f.scan_ms, f.scan_ms * 1e3 / ranks, f.scan_ms / base.scan_ms,
               (f.scan_ms / ranks) / (base.scan_ms / base.ranks), f.scan_ms / 250 * 100, f.progress_scan_ms);
  }
  fmt::print("\nconcurrent ledger appends (append_event: flock, one write(2), fsync), {} per writer\n", appends);
  fmt::print("| writers | appends | wall | appends/s | p50 latency | p99 latency | max latency | appends/s vs {} writers |\n",
             writer_counts.front());
  fmt::print("|---|---|---|---|---|---|---|---|\n");
  double base_rate = 0;
  for (const int writers : writer_counts) {
    const LedgerFigures f = ledger_figures(dir, writers, appends);
    const double rate = writers * appends / f.wall_s;
    if (base_rate == 0) base_rate = rate;
    fmt::print("| {} | {} | {:.2f} s | {:.0f} | {:.2f} ms | {:.2f} ms | {:.1f} ms | {:.2f}x |\n", writers,
               writers * appends, f.wall_s, rate, f.p50_ms, f.p99_ms, f.max_ms, rate / base_rate);
  }
  return sigma::ExitCode::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return sigma::run_main("sigma_control_plane_bench", [&] { return run(argc, argv); });
}
