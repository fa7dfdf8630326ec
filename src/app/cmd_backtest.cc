// PLACEHOLDER while `boxcall backtest` is being written: registers nothing.
#include "app/commands.h"

namespace boxcall::app {
void register_backtest(CLI::App&, std::function<int()>&) {}
}  // namespace boxcall::app
