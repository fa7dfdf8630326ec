#include "app/paths.h"

#include <cstdlib>
#include <string>
#include <system_error>

namespace boxcall::app {

std::filesystem::path executable_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("boxcall") : p;
}

std::vector<std::filesystem::path> share_candidates(std::string_view what) {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("BOXCALL_SHARE_DIR"); env && *env) out.push_back(std::filesystem::path(env) / what);
  const auto exe = executable_path();
  if (exe.has_parent_path()) {
    out.push_back((exe.parent_path().parent_path() / "share" / "boxcall" / what).lexically_normal());
  }
#if defined(BOXCALL_SOURCE_TREE) && defined(BOXCALL_BUILD_TREE)
  // A binary still in its build tree uses the source tree's files; a copied or installed one never does.
  const std::string build_tree = BOXCALL_BUILD_TREE;
  if (exe.string().starts_with(build_tree + "/")) out.push_back(std::filesystem::path(BOXCALL_SOURCE_TREE) / what);
#endif
  return out;
}

std::optional<std::filesystem::path> find_share_dir(std::string_view what) {
  for (const auto& c : share_candidates(what)) {
    std::error_code ec;
    if (std::filesystem::is_directory(c, ec)) return c;
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out;
}

}  // namespace boxcall::app
