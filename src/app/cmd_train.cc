// PLACEHOLDER while `boxcall train` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_train(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
