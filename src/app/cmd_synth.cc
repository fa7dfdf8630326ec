// PLACEHOLDER while `boxcall synth` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_synth(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
