#pragma once
/// The replay ledger of exactly-once processing (docs/operations.md, "Delivery guarantees").
///
/// Session state is not durable: an instance that takes a partition over re-reads every live
/// session from its first record (the committed offset, as in at-least-once) to rebuild its state.
/// The outputs of that replay were already committed in earlier transactions and must not be
/// published again. The ledger says how many: it travels in the metadata of the committed offset
/// of each input partition (`rd_kafka_topic_partition_t.metadata`), written in the same
/// transaction as the outputs it counts, so the two never disagree.
///
/// Per partition it holds
///  - per session on that partition, the number of outputs (and dead letters raised while the
///    session applied a record) already committed, counted from the session's first record;
///    a session's outputs are a deterministic function of its records, so a replay that
///    suppresses the first N outputs of a session publishes exactly the rest;
///  - `dead_letters_below`: records below this offset that were dead-lettered before reaching a
///    session (undecodable, no key, ...) already have their dead letters committed.
///
/// Text form: `boxcall-eos-1;d=<offset>;<session>=<outputs>:<last offset>;...`, the session id
/// percent-encoded (only `[A-Za-z0-9._-]` kept), `last offset` -1 for a session still live
/// (else the last offset it had on this partition: once the committed offset has passed it, the
/// entry is dropped). Anything else is refused, never guessed at: an unknown version or a
/// malformed ledger is an error naming what is wrong.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace boxcall::stream {

struct ReplayLedger {
  static constexpr int kVersion = 1;
  static constexpr std::string_view kPrefix = "boxcall-eos-";
  /// Kafka's default offset.metadata.max.bytes: a longer ledger would be refused by the broker.
  static constexpr std::size_t kMaxBytes = 4096;

  struct Session {
    std::uint64_t outputs = 0;      ///< outputs already committed, counted from the session's first record
    std::int64_t last_offset = -1;  ///< -1: live; else its last record on this partition
    auto operator<=>(const Session&) const = default;
  };
  std::int64_t dead_letters_below = -1;
  std::map<std::string, Session, std::less<>> sessions;
  auto operator<=>(const ReplayLedger&) const = default;
};

/// The metadata text of `ledger`.
[[nodiscard]] std::string format_ledger(const ReplayLedger& ledger);

/// The ledger in committed-offset metadata: nullopt when `metadata` is empty (no ledger was
/// written: a new group, or commits of at-least-once processing). Throws ConfigError with one
/// line naming the problem for an unknown version or a malformed ledger.
[[nodiscard]] std::optional<ReplayLedger> parse_ledger(std::string_view metadata);

}  // namespace boxcall::stream
