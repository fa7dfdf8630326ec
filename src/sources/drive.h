#pragma once
/// The offline driver: every record of a source, in its (event-time) order,
/// into one session handler, validated and deduplicated exactly as the live
/// path does (base/validate.h, base/delivery.h). `boxcall features`,
/// `backtest`, `train`, the tests and the benchmarks all run sessions through
/// here, so offline results are the live path's results.
#include "base/drive.h"
#include "sources/source.h"

namespace boxcall::sources {

using boxcall::Driver;
using boxcall::DriveStats;
using boxcall::RejectHandler;

/// Feeds every record of `source` into `handler`; outputs go to `out`.
DriveStats drive(RecordSource& source, SessionHandler& handler, OutputSink& out, const RejectHandler& on_reject = {});

}  // namespace boxcall::sources
