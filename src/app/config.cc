#include "app/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace boxcall::app {
namespace {

using Setter = std::function<void(Config&, const toml::node&, const std::string& where)>;
using Shower = std::function<std::string(const Config&)>;

struct Option {
  std::string section;
  std::string key;
  std::string type;
  std::string help;
  Setter set;
  Shower show;  ///< the value as a TOML literal
};

struct Section {
  std::string name;
  std::string help;
};

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string duration_text(std::chrono::nanoseconds d) {
  const auto n = d.count();
  if (n == 0) return "0s";
  constexpr std::int64_t kMs = 1'000'000, kS = 1'000 * kMs, kMin = 60 * kS, kH = 60 * kMin;
  if (n % kH == 0) return std::to_string(n / kH) + "h";
  if (n % kMin == 0) return std::to_string(n / kMin) + "m";
  if (n % kS == 0) return std::to_string(n / kS) + "s";
  if (n % kMs == 0) return std::to_string(n / kMs) + "ms";
  return std::to_string(n / 1000) + "us";
}

std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

template <typename Get>
Option duration(std::string section, std::string key, std::string help, Get get) {
  return Option{
      std::move(section),
      std::move(key),
      "duration",
      std::move(help),
      [get](Config& c, const toml::node& n, const std::string& where) {
        auto& field = get(c);
        using D = std::remove_reference_t<decltype(field)>;
        std::chrono::milliseconds ms{};
        if (auto s = n.value<std::string>()) {
          ms = stream::parse_duration(*s, where);
        } else if (auto i = n.value<std::int64_t>(); i && *i >= 0) {
          ms = std::chrono::seconds(*i);  // a bare number is seconds, as everywhere
        } else {
          throw ConfigError(where + ": expected a duration such as \"250ms\", \"5s\" or \"2m\"");
        }
        field = std::chrono::duration_cast<D>(ms);
      },
      [get](const Config& c) { return quote(duration_text(std::chrono::nanoseconds(get(const_cast<Config&>(c))))); }};
}

template <typename Get>
Option text(std::string section, std::string key, std::string help, Get get,
            const std::vector<std::string>& choices = {}) {
  std::string type = "string";
  if (!choices.empty()) {
    type.clear();
    for (const auto& ch : choices) type += (type.empty() ? "" : " | ") + quote(ch);
  }
  return Option{std::move(section),
                std::move(key),
                std::move(type),
                std::move(help),
                [get, choices](Config& c, const toml::node& n, const std::string& where) {
                  auto s = n.value<std::string>();
                  if (!s) throw ConfigError(where + ": expected a string");
                  if (!choices.empty() && std::find(choices.begin(), choices.end(), *s) == choices.end()) {
                    std::string known;
                    for (const auto& ch : choices) known += (known.empty() ? "" : ", ") + ch;
                    throw ConfigError(where + ": '" + *s + "' is not one of: " + known);
                  }
                  get(c) = *s;
                },
                [get](const Config& c) { return quote(get(const_cast<Config&>(c))); }};
}

template <typename Get>
Option integer(std::string section, std::string key, std::string help, std::int64_t lo, std::int64_t hi, Get get) {
  return Option{
      std::move(section),
      std::move(key),
      "integer, " + std::to_string(lo) + " to " + std::to_string(hi),
      std::move(help),
      [get, lo, hi](Config& c, const toml::node& n, const std::string& where) {
        auto i = n.value<std::int64_t>();
        if (!i || *i < lo || *i > hi) {
          throw ConfigError(where + ": expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
        }
        auto& field = get(c);
        using T = std::remove_reference_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::optional<std::int32_t>>) {
          field = static_cast<std::int32_t>(*i);
        } else {
          field = static_cast<T>(*i);
        }
      },
      [get](const Config& c) -> std::string {
        const auto& field = get(const_cast<Config&>(c));
        using T = std::remove_cvref_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::optional<std::int32_t>>) {
          return field ? std::to_string(*field) : std::string();
        } else {
          return std::to_string(field);
        }
      }};
}

template <typename Get>
Option number(std::string section, std::string key, std::string help, double lo, double hi, Get get) {
  return Option{std::move(section),
                std::move(key),
                "number, " + number_text(lo) + " to " + number_text(hi),
                std::move(help),
                [get, lo, hi](Config& c, const toml::node& n, const std::string& where) {
                  auto d = n.value<double>();
                  if (!d || !(*d >= lo && *d <= hi)) {
                    throw ConfigError(where + ": expected a number from " + number_text(lo) + " to " + number_text(hi));
                  }
                  get(c) = *d;
                },
                [get](const Config& c) { return number_text(get(const_cast<Config&>(c))); }};
}

template <typename Get>
Option encoding(std::string section, std::string key, std::string help, Get get) {
  return Option{std::move(section),
                std::move(key),
                "\"flatbuffers\" | \"json\"",
                std::move(help),
                [get](Config& c, const toml::node& n, const std::string& where) {
                  auto s = n.value<std::string>();
                  if (!s) throw ConfigError(where + ": expected a string");
                  get(c) = stream::parse_output_encoding(*s, where);
                },
                [get](const Config& c) { return quote(std::string(stream::to_string(get(const_cast<Config&>(c))))); }};
}

template <typename Get>
Option boolean(std::string section, std::string key, std::string help, Get get) {
  return Option{std::move(section),
                std::move(key),
                "boolean",
                std::move(help),
                [get](Config& c, const toml::node& n, const std::string& where) {
                  auto b = n.value<bool>();
                  if (!b) throw ConfigError(where + ": expected true or false");
                  get(c) = *b;
                },
                [get](const Config& c) { return get(const_cast<Config&>(c)) ? "true" : "false"; }};
}

template <typename Get>
Option properties(std::string section, std::string key, std::string help, Get get) {
  return Option{
      std::move(section),
      std::move(key),
      "table of librdkafka properties",
      std::move(help),
      [get](Config& c, const toml::node& n, const std::string& where) {
        const auto* t = n.as_table();
        if (!t) throw ConfigError(where + ": expected a table of librdkafka properties");
        auto& out = get(c);
        for (const auto& [k, v] : *t) {
          const std::string name(k.str());
          if (auto s = v.template value<std::string>()) {
            out[name] = *s;
          } else if (auto i = v.template value<std::int64_t>()) {
            out[name] = std::to_string(*i);
          } else if (auto b = v.template value<bool>()) {
            out[name] = *b ? "true" : "false";
          } else {
            throw ConfigError(where + "." + name + ": librdkafka properties must be strings, numbers or booleans");
          }
        }
      },
      [](const Config&) { return std::string(); }};
}

const std::vector<Section>& sections() {
  static const std::vector<Section> kAll{
      {"kafka", "The cluster, the consumer group and librdkafka properties."},
      {"topics", "Topic names (docs/wire-contract.md)."},
      {"output",
       "How output records are written; every record says which in its content-type header "
       "(docs/wire-contract.md, \"Reading boxcall's outputs\"). Dead letters keep the input bytes as received."},
      {"watermark",
       "Event time: ordering, lateness and the bounds on impossible timestamps "
       "(docs/operations.md, \"Event time and watermarks\")."},
      {"reorder", "Reorder buffers: backpressure and the memory bound."},
      {"session", "Session lifetime (processing time)."},
      {"features", "The feature engine (docs/features.md)."},
      {"strategy", "The strategy engine (docs/strategy.md)."},
      {"alerts", "Alert thresholds (docs/strategy.md, \"Alerts\")."},
      {"models", "Where predictions come from (docs/models.md)."},
      {"commit", "Offset commits."},
      {"metrics", "boxcall's HTTP port: the pit-wall page, the API and Prometheus /metrics (docs/operations.md)."},
      {"log", "Logging (stderr)."},
      {"state", "Local state of the process."},
  };
  return kAll;
}

const std::vector<Option>& options() {
  using std::chrono::milliseconds;
  static const std::vector<Option> kAll{
      // [kafka]
      text(
          "kafka", "brokers", "Bootstrap servers (host:port,...). Empty: the embedded broker and a synthetic race.",
          [](Config & c) -> auto& { return c.stream.brokers; }),
      text(
          "kafka", "group_id", "Consumer group id: instances with the same id share the sessions.",
          [](Config & c) -> auto& { return c.stream.group_id; }),
      text("kafka", "processing_guarantee",
           "exactly_once: outputs and input offsets are committed together in Kafka transactions; a restarted or "
           "moved session is re-read to rebuild its state without publishing its committed outputs again "
           "(consumers should read with isolation.level=read_committed). at_least_once: no transactions; after a "
           "crash or a rebalance a session's outputs are published again from its start. The embedded broker "
           "always runs at least once (docs/operations.md, \"Delivery guarantees\").",
           [](Config & c) -> auto& { return c.stream.processing_guarantee; }, {"exactly_once", "at_least_once"}),
      text(
          "kafka", "instance_id",
          "This instance's stable identity in the group, unique among its instances: exactly-once processing "
          "names its transactional producer <group_id>-<instance_id>, so that a restart fences its dead "
          "predecessor at once. Empty: the host name and a hash of the state directory.",
          [](Config & c) -> auto& { return c.stream.instance_id; }),
      duration(
          "kafka", "startup_timeout", "How long start-up waits for the brokers before failing.",
          [](Config & c) -> auto& { return c.stream.startup_timeout; }),
      duration(
          "kafka", "shutdown_timeout", "How long a clean stop waits for outputs to be acknowledged.",
          [](Config & c) -> auto& { return c.stream.shutdown_timeout; }),
      properties(
          "kafka", "common", "librdkafka properties for both clients (e.g. security.protocol).",
          [](Config & c) -> auto& { return c.stream.kafka_common; }),
      properties(
          "kafka", "consumer", "librdkafka properties for the consumer only.",
          [](Config & c) -> auto& { return c.stream.kafka_consumer; }),
      properties(
          "kafka", "producer", "librdkafka properties for the producer only.",
          [](Config & c) -> auto& { return c.stream.kafka_producer; }),
      // [topics]
      text(
          "topics", "telemetry", "Input: car samples.", [](Config & c) -> auto& { return c.stream.topics.telemetry; }),
      text(
          "topics", "timing", "Input: timing events (laps, pit, track status, session).",
          [](Config & c) -> auto& { return c.stream.topics.timing; }),
      text(
          "topics", "features", "Output: lap features and per-car snapshots.",
          [](Config & c) -> auto& { return c.stream.topics.features; }),
      text(
          "topics", "predictions", "Output: strategy predictions.",
          [](Config & c) -> auto& { return c.stream.topics.predictions; }),
      text(
          "topics", "alerts", "Output: alerts.", [](Config & c) -> auto& { return c.stream.topics.alerts; }),
      text(
          "topics", "dead_letter", "Output: input records that could not be used, with the reason in headers.",
          [](Config & c) -> auto& { return c.stream.topics.dead_letter; }),
      // [output]: `encoding` first (table order), then the per-topic keys override it.
      encoding(
          "output", "encoding", "Every output topic: the Envelope FlatBuffer, or its JSON form.",
          [](Config & c) -> auto& { return c.stream.output.features; }),
      encoding(
          "output", "features_encoding", "The features topic (overrides `encoding`).",
          [](Config & c) -> auto& { return c.stream.output.features; }),
      encoding(
          "output", "predictions_encoding", "The predictions topic (overrides `encoding`).",
          [](Config & c) -> auto& { return c.stream.output.predictions; }),
      encoding(
          "output", "alerts_encoding", "The alerts topic (overrides `encoding`).",
          [](Config & c) -> auto& { return c.stream.output.alerts; }),
      // [watermark]
      duration(
          "watermark", "max_out_of_orderness",
          "How far records of one input may arrive out of event-time order and still be applied in order. "
          "Adds this much latency to every output.",
          [](Config & c) -> auto& { return c.stream.processor.max_out_of_orderness; }),
      duration(
          "watermark", "allowed_lateness",
          "Records behind the watermark by at most this much are still applied (samples join their lap if it "
          "is still open); older ones go to the dead-letter topic (reason late).",
          [](Config & c) -> auto& { return c.stream.processor.allowed_lateness; }),
      duration(
          "watermark", "car_align_grace",
          "A timing event of a car waits until that car's telemetry has passed it, or until the session's "
          "telemetry is this far past it.",
          [](Config & c) -> auto& { return c.stream.processor.car_align_grace; }),
      duration(
          "watermark", "input_idle",
          "An input read to its end stops holding a session's watermark back after this long without a "
          "record of that session. Lower: less latency after sparse timing events; higher: safer against "
          "producers that batch the two topics far apart.",
          [](Config & c) -> auto& { return c.stream.processor.input_idle; }),
      duration(
          "watermark", "recovery_idle",
          "After a lost broker connection, an input read to its end does not count as idle for this long: "
          "producers catch up in bursts, one topic before the other.",
          [](Config & c) -> auto& { return c.stream.processor.recovery_idle; }),
      duration(
          "watermark", "max_event_time_step",
          "A record more than this far ahead of the newest event time of its session is held until the next "
          "record of its input confirms the jump; unconfirmed, it is dead-lettered (event_time_out_of_range).",
          [](Config & c) -> auto& { return c.stream.processor.max_event_time_step; }),
      duration(
          "watermark", "max_ahead_of_wall_clock",
          "A record whose event time is more than this far ahead of this machine's clock is dead-lettered "
          "(event_time_out_of_range). \"0s\" turns the check off.",
          [](Config & c) -> auto& { return c.stream.processor.max_ahead_of_wall_clock; }),
      // [reorder]
      integer(
          "reorder", "pause_buffered_records",
          "A session holding this many records for an input that lags pauses the partition of the input that "
          "runs ahead, until the other catches up (resumed at half). 0 turns backpressure off.",
          0, 10'000'000, [](Config & c) -> auto& { return c.stream.processor.pause_buffered_records; }),
      integer(
          "reorder", "max_buffered_records",
          "Memory bound of all reorder buffers together (and 10x pause_buffered_records per session): beyond "
          "it, records are released before an input caught up (counted in boxcall_reorder_overflow_total).",
          1'000, 100'000'000, [](Config & c) -> auto& { return c.stream.processor.max_buffered_records; }),
      // [session]
      duration(
          "session", "idle_timeout", "A session silent this long releases everything it buffers.",
          [](Config & c) -> auto& { return c.stream.processor.idle_timeout; }),
      duration(
          "session", "expiry", "A session silent this long is evicted (a finished session: after idle_timeout).",
          [](Config & c) -> auto& { return c.stream.processor.session_expiry; }),
      // [features]
      duration(
          "features", "snapshot_period", "Per-car rolling snapshots every this much event time. \"0s\": no snapshots.",
          [](Config & c) -> auto& { return c.features.snapshot_period; }),
      integer(
          "features", "scheduled_laps", "Race laps, when the timing feed does not send them (unset: from the feed).", 1,
          500, [](Config & c) -> auto& { return c.features.scheduled_laps; }),
      duration(
          "features", "retire_after", "A car silent this long (event time) while others report is retired.",
          [](Config & c) -> auto& { return c.features.retire_after; }),
      integer(
          "features", "retire_after_laps",
          "A car is also retired when the leader completed this many laps since its last one (0: off).", 0, 100,
          [](Config & c) -> auto& { return c.features.retire_after_laps; }),
      // [strategy]
      integer(
          "strategy", "scenarios", "Monte Carlo scenarios per decision.", 1, 1'000'000,
          [](Config & c) -> auto& { return c.strategy.scenarios; }),
      integer(
          "strategy", "seed", "Base seed; with session, car and lap it seeds each decision (reproducible).", 0,
          std::numeric_limits<std::int64_t>::max(), [](Config & c) -> auto& { return c.strategy.seed; }),
      number(
          "strategy", "window_tolerance_s", "Laps whose mean cost is within this of the best form the pit window.", 0,
          60, [](Config & c) -> auto& { return c.strategy.window_tolerance_s; }),
      number(
          "strategy", "deg_sd", "Relative spread of tyre degradation between scenarios.", 0, 5,
          [](Config & c) -> auto& { return c.strategy.deg_sd; }),
      number(
          "strategy", "pit_loss_sd_s", "Spread of the pit loss between scenarios, seconds.", 0, 30,
          [](Config & c) -> auto& { return c.strategy.pit_loss_sd_s; }),
      number(
          "strategy", "sc_pit_factor", "A stop under SC/VSC costs this share of the green pit loss.", 0, 1,
          [](Config & c) -> auto& { return c.strategy.sc_pit_factor; }),
      number(
          "strategy", "tyre_cliff_s_per_lap2",
          "Past its usable life (priors.json tyre_life_laps) a set loses this x (laps over)^2 s per lap (0: no cliff).",
          0, 10, [](Config & c) -> auto& { return c.strategy.tyre_cliff_s_per_lap2; }),
      integer(
          "strategy", "sc_length_laps", "Laps a safety-car period lasts in the simulation.", 1, 20,
          [](Config & c) -> auto& { return c.strategy.sc_length_laps; }),
      integer(
          "strategy", "curve_knots", "Model calls per compound curve (linear in between).", 2, 100,
          [](Config & c) -> auto& { return c.strategy.curve_knots; }),
      number(
          "strategy", "out_lap_penalty_s", "Undercut: the fresh set's first lap is this much off its pace.", 0, 20,
          [](Config & c) -> auto& { return c.strategy.out_lap_penalty_s; }),
      number(
          "strategy", "undercut_scale_s", "Width of the undercut probability around \"gain = gap\", seconds.", 0.01, 20,
          [](Config & c) -> auto& { return c.strategy.undercut_scale_s; }),
      number(
          "strategy", "undercut_mode_threshold", "Undercut threat or chance above this drives the driving mode.", 0, 1,
          [](Config & c) -> auto& { return c.strategy.undercut_mode_threshold; }),
      text(
          "strategy", "circuit", "Circuit for the priors; empty: the session's name, else its id.",
          [](Config & c) -> auto& { return c.strategy.circuit; }),
      // [alerts]
      duration(
          "alerts", "dropout_after",
          "Sensor dropout: a running car silent this long (event time) while another car reported.",
          [](Config & c) -> auto& { return c.strategy.alerts.dropout_after; }),
      duration(
          "alerts", "others_within", "... with another car's sample within this long.",
          [](Config & c) -> auto& { return c.strategy.alerts.others_within; }),
      duration(
          "alerts", "dropout_clear_after", "A dropout clears once the car has reported again for this long.",
          [](Config & c) -> auto& { return c.strategy.alerts.dropout_clear_after; }),
      duration(
          "alerts", "stuck_after", "Stuck sensor: speed, rpm, throttle and gear identical this long while moving.",
          [](Config & c) -> auto& { return c.strategy.alerts.stuck_after; }),
      duration(
          "alerts", "stuck_clear_after", "A stuck sensor clears after values change for this long.",
          [](Config & c) -> auto& { return c.strategy.alerts.stuck_clear_after; }),
      number(
          "alerts", "moving_kph", "Above this speed a car counts as moving.", 0, 400,
          [](Config & c) -> auto& { return c.strategy.alerts.moving_kph; }),
      number(
          "alerts", "parked_kph", "Below this speed a car counts as parked (its silence is no dropout).", 0, 400,
          [](Config & c) -> auto& { return c.strategy.alerts.parked_kph; }),
      duration(
          "alerts", "throttle_error_after", "The throttle error value (104) sustained this long while moving.",
          [](Config & c) -> auto& { return c.strategy.alerts.throttle_error_after; }),
      duration(
          "alerts", "throttle_clear_after", "... cleared after valid throttle values for this long.",
          [](Config & c) -> auto& { return c.strategy.alerts.throttle_clear_after; }),
      duration(
          "alerts", "stall_after", "Feed stall: no sample of any car for this long (processing time).",
          [](Config & c) -> auto& { return c.strategy.alerts.stall_after; }),
      number(
          "alerts", "cliff_pace_loss_s", "Tyre cliff: fuel-corrected pace loss vs the stint's best, seconds.", 0, 60,
          [](Config & c) -> auto& { return c.strategy.alerts.cliff_pace_loss_s; }),
      number(
          "alerts", "cliff_pace_loss_clear_s", "... cleared below this loss.", 0, 60,
          [](Config & c) -> auto& { return c.strategy.alerts.cliff_pace_loss_clear_s; }),
      number(
          "alerts", "cliff_slope_s_per_lap", "Tyre cliff: degradation slope, seconds per lap.", 0, 10,
          [](Config & c) -> auto& { return c.strategy.alerts.cliff_slope_s_per_lap; }),
      number(
          "alerts", "cliff_slope_clear_s_per_lap", "... cleared below this slope.", 0, 10,
          [](Config & c) -> auto& { return c.strategy.alerts.cliff_slope_clear_s_per_lap; }),
      integer(
          "alerts", "window_clear_after_laps",
          "A pit-window alert clears when the window has been closed this many laps, or at a stop.", 1, 50,
          [](Config & c) -> auto& { return c.strategy.alerts.window_clear_after_laps; }),
      // [models]
      text(
          "models", "dir",
          "Model directory from `boxcall train` (XGBoost models + priors.json); a directory that does not load "
          "stops start-up. Empty: the models shipped with boxcall.",
          [](Config & c) -> auto& { return c.models.dir; }),
      boolean(
          "models", "enabled", "false: no models (as --no-models); then `fallback` decides.",
          [](Config & c) -> auto& { return c.models.enabled; }),
      duration(
          "models", "reload_interval", "Model files are re-checked this often (\"0s\": never).",
          [](Config & c) -> auto& { return c.models.reload_interval; }),
      text("models", "fallback", "Without models: no predictions (alerts still run), or the documented rules.",
           [](Config & c) -> auto& { return c.models.fallback; }, {"none", "rules"}),
      // [commit]
      duration(
          "commit", "interval", "Offsets are committed this often.",
          [](Config & c) -> auto& { return c.stream.commit_interval; }),
      // [metrics]
      text(
          "metrics", "address",
          "host:port of the HTTP port (page, API, /metrics; `run --http`); loopback by default, "
          "\"0.0.0.0:9464\" in a container; \"\" disables it.",
          [](Config & c) -> auto& { return c.stream.metrics_address; }),
      // [log]
      text("log", "format", "Log line format.", [](Config & c) -> auto& { return c.stream.log_format; },
           {"text", "json"}),
      text("log", "level", "Lowest level logged.", [](Config & c) -> auto& { return c.stream.log_level; },
           {"trace", "debug", "info", "warn", "error", "critical", "off"}),
      // [state]
      text(
          "state", "dir",
          "Where boxcall keeps its crash marker (the record being processed when it crashed, skipped on "
          "restart). Empty: $BOXCALL_STATE_DIR, else $XDG_STATE_HOME/boxcall, else ~/.local/state/boxcall.",
          [](Config & c) -> auto& { return c.stream.state_dir; }),
  };
  return kAll;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// " (did you mean 'x'?)" when one known name is close enough.
std::string suggestion(const std::string& name, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

/// `text` on one line: control characters (a newline in a quoted TOML key, or the one toml++ quotes
/// after "saw") written as escapes, so that a bad file still gives one error line.
std::string one_line(std::string_view text) {
  std::string out;
  for (char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

void load_toml_file(const std::string& path, Config& c);

}  // namespace

void load_toml(const std::string& path, Config& c) {
  try {
    load_toml_file(path, c);
  } catch (const ConfigError& e) {
    throw ConfigError(one_line(e.what()));
  }
}

namespace {

void load_toml_file(const std::string& path, Config& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw ConfigError(path + ":" + std::to_string(src.begin.line) + ": " + std::string(e.description()));
  }
  std::vector<std::string> section_names;
  for (const auto& s : sections()) section_names.push_back(s.name);
  for (const auto& [k, v] : root) {
    const std::string section(k.str());
    if (std::find(section_names.begin(), section_names.end(), section) == section_names.end()) {
      throw ConfigError(path + ": [" + section + "]: unknown section" + suggestion(section, section_names) +
                        " (see docs/configuration.md)");
    }
    const auto* table = v.as_table();
    if (!table) throw ConfigError(path + ": " + section + ": expected a [" + section + "] table");
    std::vector<std::string> keys;
    for (const auto& o : options()) {
      if (o.section == section) keys.push_back(o.key);
    }
    for (const auto& [kk, node] : *table) {
      const std::string key(kk.str());
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
      const std::string where = path + ": " + section + "." + key;
      if (section == "output" && key == "dead_letter_encoding") {
        throw ConfigError(where + ": dead letters keep the rejected input bytes as received; they have no encoding");
      }
      throw ConfigError(where + ": unknown key in [" + section + "]" + suggestion(key, keys) +
                        " (see docs/configuration.md)");
    }
    // In the table's order, whatever the file's: general keys before the ones that refine them.
    for (const auto& o : options()) {
      if (o.section != section) continue;
      const auto* node = table->get(o.key);
      if (!node) continue;
      o.set(c, *node, path + ": " + section + "." + o.key);
      if (section == "output" && o.key == "encoding") c.stream.output.set_all(c.stream.output.features);
    }
  }
}

}  // namespace

void validate(const Config& c) {
  stream::validate(c.stream);
  if (c.stream.processor.idle_timeout.count() <= 0) throw ConfigError("session.idle_timeout must be positive");
  if (c.stream.processor.session_expiry < c.stream.processor.idle_timeout) {
    throw ConfigError("session.expiry must not be shorter than session.idle_timeout");
  }
  if (c.stream.processor.max_event_time_step.count() <= 0) {
    throw ConfigError("watermark.max_event_time_step must be positive");
  }
  if (c.models.fallback != "none" && c.models.fallback != "rules") {
    throw ConfigError("models.fallback '" + c.models.fallback + "' is not one of: none, rules");
  }
  if (c.features.snapshot_period.count() < 0) throw ConfigError("features.snapshot_period must not be negative");
}

std::string configuration_reference() {
  const Config defaults;
  std::string out =
      "# Configuration reference\n\n"
      "<!-- Generated by `boxcall config reference` from the option table in src/app/config.cc; a unit test\n"
      "     fails when this file and the code differ. Regenerate, do not edit. -->\n\n"
      "`boxcall run --config FILE` reads a TOML file; every key is optional and unknown sections or keys stop\n"
      "start-up with one line naming them. Command-line options (`boxcall run --help`) override the file.\n"
      "Durations are strings such as `\"250ms\"`, `\"5s\"`, `\"2m\"`, `\"1h\"`; a bare number is seconds.\n"
      "`deploy/boxcall.toml` lists every key at its default (`boxcall config example`).\n";
  for (const auto& s : sections()) {
    out += "\n## [" + s.name + "]\n\n" + s.help + "\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
    for (const auto& o : options()) {
      if (o.section != s.name) continue;
      std::string def = o.show(defaults);
      def = def.empty() ? "(unset)" : "`" + def + "`";
      std::string help = o.help;
      std::string::size_type pos = 0;
      while ((pos = help.find('|', pos)) != std::string::npos) help.replace(pos, 1, "\\|"), pos += 2;
      std::string type = o.type;
      pos = 0;
      while ((pos = type.find('|', pos)) != std::string::npos) type.replace(pos, 1, "\\|"), pos += 2;
      out += "| `" + o.key + "` | " + type + " | " + def + " | " + help + " |\n";
    }
  }
  return out;
}

/// `text` as comment lines of at most ~100 columns.
static std::string comment_lines(const std::string& text) {
  std::string out, line = "#";
  std::istringstream words(text);
  std::string w;
  while (words >> w) {
    if (line.size() + 1 + w.size() > 100 && line != "#") {
      out += line + "\n";
      line = "#";
    }
    line += " " + w;
  }
  return out + line + "\n";
}

std::string example_toml() {
  const Config defaults;
  std::string out =
      "# boxcall configuration: boxcall run --config deploy/boxcall.toml. Every key is optional;\n"
      "# the values shown are the defaults. Reference: docs/configuration.md. Generated by\n"
      "# `boxcall config example` from the code's option table (a unit test keeps them equal).\n";
  for (const auto& s : sections()) {
    out += "\n[" + s.name + "]\n" + comment_lines(s.help);
    for (const auto& o : options()) {
      if (o.section != s.name) continue;
      const std::string value = o.show(defaults);
      out += "\n" + comment_lines(o.help);
      if (o.type == "table of librdkafka properties") {
        out += "# [" + s.name + "." + o.key + "]\n# \"property.name\" = \"value\"\n";
      } else if (value.empty()) {
        out += "# " + o.key + " = \n";
      } else {
        out += o.key + " = " + value + "\n";
      }
    }
  }
  return out;
}

}  // namespace boxcall::app
