// PLACEHOLDER while `boxcall record` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_record(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
