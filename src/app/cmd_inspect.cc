// PLACEHOLDER while `boxcall inspect` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_inspect(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
