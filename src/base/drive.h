#pragma once
/// The offline driver's core: records, one at a time and in their
/// (event-time) order, into one session handler, validated and deduplicated
/// exactly as the live path does (base/validate.h, base/delivery.h).
/// `sources::drive` runs a whole RecordSource through it; `boxcall train`
/// feeds its reconstructed races through it.
#include <cstdint>
#include <functional>

#include "base/delivery.h"
#include "base/records.h"
#include "base/result.h"
#include "base/session.h"

namespace boxcall {

struct DriveStats {
  std::uint64_t records = 0;     ///< read from the source
  std::uint64_t applied = 0;     ///< contributed to the session
  std::uint64_t invalid = 0;     ///< failed validation (the live path dead-letters them)
  std::uint64_t rejected = 0;    ///< refused by the handler (the live path dead-letters them)
  std::uint64_t duplicates = 0;  ///< repeats (dropped, as live)
};

/// Called for each record the live path would dead-letter, with the reason.
using RejectHandler = std::function<void(const Input& record, const Error& error)>;

/// One record, as `drive` does it, for callers that interleave several
/// sources or inspect state between records.
class Driver {
 public:
  Driver(SessionHandler& handler, OutputSink& out, RejectHandler on_reject = {})
      : handler_(handler), out_(out), on_reject_(std::move(on_reject)) {}
  void feed(const Input& record);
  [[nodiscard]] const DriveStats& stats() const { return stats_; }

 private:
  SessionHandler& handler_;
  OutputSink& out_;
  RejectHandler on_reject_;
  DeliveryLedger ledger_;
  DriveStats stats_;
};

}  // namespace boxcall
