// PLACEHOLDER while `boxcall replay` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_replay(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
