// A small, fast preflight config for tests: the same checks as production at sizes that finish in well under a
// second, so detection can be asserted many times per test run.
#pragma once

#include "sigma/policy/site_config.hpp"

namespace sigma::hc::testing {

inline PreflightConfig small_config() {
  PreflightConfig c = default_site_config().preflight;
  c.levels["quick"] = {30, {"gemm", "membw", "memtest"}};
  c.gemm.sizes = {64, 128};
  c.membw.size_mib = 8;
  c.memtest.share = 0.001;
  c.memtest.max_mib = 8;
  c.baseline_file.clear();
  return c;
}

}  // namespace sigma::hc::testing
