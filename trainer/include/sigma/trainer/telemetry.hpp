// What a run tells the outside world each step: a progress line on stdout, the same as a JSON line in a
// file, and a heartbeat file whose contents and mtime change every step (a launcher watches it for hangs).
#pragma once

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/trainer/trainer.hpp"

namespace sigma::trainer {

std::string progress_line(const StepReport& report, int total_steps);
nlohmann::json report_json(const StepReport& report);

class Telemetry {
 public:
  // Empty paths switch that output off. Throws sigma::Error(not_found) if a file cannot be opened.
  Telemetry(const std::string& jsonl_path, const std::string& heartbeat_path);
  void record(const StepReport& report);

 private:
  void beat(const StepReport& report);
  std::ofstream jsonl_;
  std::string heartbeat_path_;
};

}  // namespace sigma::trainer
