#pragma once
/// Where boxcall finds what it ships besides the binary (models, web page).
/// An installed binary (<prefix>/bin/boxcall) looks in <prefix>/share/boxcall;
/// a binary inside its build tree falls back to the source tree (a binary
/// copied elsewhere does not). BOXCALL_SHARE_DIR comes first.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boxcall::app {

/// The running executable (/proc/self/exe).
std::filesystem::path executable_path();
/// Where `what` ("models", "web") is looked for, in order.
std::vector<std::filesystem::path> share_candidates(std::string_view what);
/// The first candidate that is a directory.
std::optional<std::filesystem::path> find_share_dir(std::string_view what);
/// "a, b, c" (for messages that say where something was looked for).
std::string joined(const std::vector<std::filesystem::path>& paths);

}  // namespace boxcall::app
