// libFuzzer target: any bytes given to the site-config parser end in a config or a sigma::Error, never a crash,
// hang or other exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    sigma::SiteConfig config = sigma::parse_site_config(text, "fuzz.yaml");
    // What we print must read back.
    sigma::parse_site_config(sigma::to_yaml(config), "fuzz-roundtrip.yaml");
  } catch (const sigma::Error&) {
  }
  return 0;
}
