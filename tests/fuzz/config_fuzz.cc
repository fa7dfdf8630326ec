// libFuzzer target: the TOML configuration (src/app/config.cc), as
// `boxcall run --config FILE` reads it: parse, apply every key through the
// option table, then the cross-field checks. Any text must either configure
// boxcall or stop it with one ConfigError line; nothing may crash or throw
// anything else (which would end `boxcall` without its one-line error).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/config.h"
#include "base/result.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    static fs::path p = fs::temp_directory_path() / ("boxcall-fuzz-" + std::to_string(::getpid()) + ".toml");
    std::atexit([] {
      std::error_code ec;
      fs::remove(p, ec);
    });
    return p.string();
  }();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  boxcall::app::Config config;
  try {
    boxcall::app::load_toml(path, config);
    boxcall::app::validate(config);
  } catch (const boxcall::ConfigError& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) std::abort();  // one line
  }
  return 0;
}
