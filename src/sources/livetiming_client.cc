#include "sources/livetiming_client.h"

#include "sources/livetiming.h"

#include <utility>
// Boost.Asio/Beast after <utility> (GCC 12 + C++20, see ../shared/notes/toolchain.md).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <unordered_set>

#include "base/time_text.h"

namespace boxcall::sources {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

struct Url {
  bool tls = false;
  std::string host, port, path;  ///< path without a trailing slash, e.g. "/signalr"
};

Url parse_url(const std::string& text) {
  Url u;
  std::string rest;
  if (text.rfind("https://", 0) == 0 || text.rfind("wss://", 0) == 0) {
    u.tls = true;
    rest = text.substr(text.find("//") + 2);
  } else if (text.rfind("http://", 0) == 0 || text.rfind("ws://", 0) == 0) {
    rest = text.substr(text.find("//") + 2);
  } else {
    throw ConfigError("--url must start with http://, https://, ws:// or wss://, got '" + text + "'");
  }
  const auto slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  const auto colon = hostport.rfind(':');
  u.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : hostport.substr(colon + 1);
  if (u.host.empty()) throw ConfigError("--url has no host: '" + text + "'");
  return u;
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

json as_object(const json& j) {
  if (!j.is_array()) return j;
  json obj = json::object();
  for (std::size_t i = 0; i < j.size(); ++i) obj[std::to_string(i)] = j[i];
  return obj;
}

/// What `want` has that `have` lacks or holds differently, as a delta (nullopt: nothing).
std::optional<json> diff(const json& have, const json& want_in) {
  const json want = as_object(want_in);
  if (!want.is_object()) {
    if (have == want) return std::nullopt;
    return want;
  }
  const json h = as_object(have);
  if (!h.is_object()) {
    if (want.empty()) return std::nullopt;  // an empty topic says nothing
    return want;
  }
  json out = json::object();
  for (const auto& [k, v] : want.items()) {
    auto it = h.find(k);
    if (it == h.end()) {
      out[k] = v;
    } else if (auto d = diff(*it, v)) {
      out[k] = std::move(*d);
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

struct Item {
  enum Kind { Feed, Snapshot } kind = Feed;
  std::string topic, utc, data;
  std::string where;
};

// ---------------------------------------------------------------- transport (plain or TLS)

class Transport {
 public:
  virtual ~Transport() = default;
  /// HTTP GET: status and body; Set-Cookie values are collected into `cookies`.
  virtual std::pair<int, std::string> get(const std::string& target, std::string& cookies) = 0;
  virtual void ws_connect(const std::string& target, const std::string& cookies) = 0;
  virtual void ws_write(const std::string& text) = 0;
  /// Reads one message; false when it should stop (stop flag). Throws on errors and idle timeouts.
  virtual bool ws_read(std::string& text, const std::function<bool()>& stopping) = 0;
  virtual void ws_close() = 0;
};

template <bool kTls>
class BeastTransport final : public Transport {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  BeastTransport(Url url, std::chrono::milliseconds idle) : url_(std::move(url)), idle_(idle) {
    if constexpr (kTls) {
      ssl_.set_default_verify_paths();
      ssl_.set_verify_mode(net::ssl::verify_peer);
    }
  }

  std::pair<int, std::string> get(const std::string& target, std::string& cookies) override {
    Stream stream = make_stream();
    open(stream);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    headers(req, cookies);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    run([&](auto done) { http::async_write(stream, req, [done](beast::error_code e, std::size_t) { done(e); }); });
    run([&](auto done) { http::async_read(stream, buf, res, [done](beast::error_code e, std::size_t) { done(e); }); });
    for (const auto& f : res) {
      if (f.name() == http::field::set_cookie) {
        std::string c(f.value());
        c = c.substr(0, c.find(';'));
        if (!cookies.empty()) cookies += "; ";
        cookies += c;
      }
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    return {res.result_int(), res.body()};
  }

  void ws_connect(const std::string& target, const std::string& cookies) override {
    ws_ = std::make_unique<websocket::stream<Stream>>(make_stream());
    open(ws_->next_layer());
    beast::get_lowest_layer(*ws_).expires_never();
    websocket::stream_base::timeout t{std::chrono::seconds(10), idle_, false};
    ws_->set_option(t);
    ws_->set_option(websocket::stream_base::decorator([cookies](websocket::request_type& req) {
      req.set(http::field::user_agent, "BestHTTP");
      req.set(http::field::accept_encoding, "gzip, identity");
      if (!cookies.empty()) req.set(http::field::cookie, cookies);
    }));
    const std::string host = url_.host + ":" + url_.port;
    run([&](auto done) { ws_->async_handshake(host, target, [done](beast::error_code e) { done(e); }); });
  }

  void ws_write(const std::string& text) override {
    ws_->text(true);
    run([&](auto done) { ws_->async_write(net::buffer(text), [done](beast::error_code e, std::size_t) { done(e); }); });
  }

  bool ws_read(std::string& text, const std::function<bool()>& stopping) override {
    beast::flat_buffer buf;
    bool finished = false;
    beast::error_code ec;
    ws_->async_read(buf, [&](beast::error_code e, std::size_t) {
      ec = e;
      finished = true;
    });
    ioc_.restart();
    while (!finished) {
      ioc_.run_one_for(std::chrono::milliseconds(100));
      if (!finished && stopping()) {
        beast::get_lowest_layer(*ws_).cancel();
        ioc_.run_for(std::chrono::milliseconds(200));
        return false;
      }
    }
    if (ec) throw beast::system_error(ec);
    text = beast::buffers_to_string(buf.data());
    return true;
  }

  void ws_close() override {
    if (!ws_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    ws_.reset();
  }

 private:
  Stream make_stream() {
    if constexpr (kTls) {
      return Stream(ioc_, ssl_);
    } else {
      return Stream(ioc_);
    }
  }

  /// Runs one async operation to completion (with a 15 s cap); throws its error.
  template <typename Start>
  void run(Start&& start) {
    bool finished = false;
    beast::error_code ec;
    start([&](beast::error_code e) {
      ec = e;
      finished = true;
    });
    ioc_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!finished && std::chrono::steady_clock::now() < deadline) ioc_.run_one_for(std::chrono::milliseconds(100));
    if (!finished) throw std::runtime_error("timed out");
    if (ec) throw beast::system_error(ec);
  }

  void open(Stream& s) {
    tcp::resolver resolver(ioc_);
    auto& layer = beast::get_lowest_layer(s);
    layer.expires_after(std::chrono::seconds(10));
    tcp::resolver::results_type results;
    run([&](auto done) {
      resolver.async_resolve(url_.host, url_.port, [&, done](beast::error_code e, tcp::resolver::results_type r) {
        results = std::move(r);
        done(e);
      });
    });
    run([&](auto done) {
      layer.async_connect(results, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
    });
    if constexpr (kTls) {
      // SSL_set_tlsext_host_name is a macro with an old-style cast: call what it expands to.
      if (!SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(url_.host.c_str())))
        throw std::runtime_error("cannot set the TLS server name");
      run([&](auto done) {
        s.async_handshake(net::ssl::stream_base::client, [done](beast::error_code e) { done(e); });
      });
    }
    layer.expires_after(std::chrono::seconds(15));
  }

  template <typename Req>
  void headers(Req& req, const std::string& cookies) {
    req.set(http::field::host, url_.host);
    req.set(http::field::user_agent, "BestHTTP");
    req.set(http::field::accept_encoding, "identity");
    if (!cookies.empty()) req.set(http::field::cookie, cookies);
  }

  Url url_;
  std::chrono::milliseconds idle_;
  net::io_context ioc_;
  net::ssl::context ssl_{net::ssl::context::tls_client};
  std::unique_ptr<websocket::stream<Stream>> ws_;
};

}  // namespace

// ------------------------------------------------------------------ the client

struct LiveTimingClient::Impl {
  LiveTimingClientOptions o;
  Url url;
  std::string connection_data;  ///< [{"name":"Streaming"}], percent-encoded

  // Network thread -> reader.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool net_done = false;
  std::thread net;
  std::atomic<bool> closing{false};
  mutable std::mutex stats_mu;
  LiveTimingClientStats st;

  // Reader state.
  std::unique_ptr<LiveTimingParser> parser;
  std::map<std::string, json> state;
  std::unordered_set<std::uint64_t> seen;
  std::deque<std::uint64_t> seen_order;
  TimeNs latest_utc = 0;
  std::string session;
  bool ended = false;
  std::map<std::string, std::ofstream> files;

  bool stopping() const {
    return closing || (o.stop && o.stop->load()) || (o.deadline && std::chrono::steady_clock::now() >= *o.deadline);
  }

  void event(const std::string& what) {
    if (o.on_event) o.on_event(what);
  }

  void enqueue(Item item) {
    std::lock_guard lock(mu);
    queue.push_back(std::move(item));
    cv.notify_one();
  }

  // ---------------------------------------------------------------- network thread

  std::string query(const std::string& token) const {
    return "transport=webSockets&clientProtocol=1.5&connectionToken=" + percent_encode(token) +
           "&connectionData=" + connection_data;
  }

  /// Handles one text frame; returns the message id ("C") it carried, if any.
  void handle(const std::string& text, std::string& message_id, std::string& groups_token, std::uint64_t& frames) {
    ++frames;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      enqueue({Item::Feed, "", "", text, "frame " + std::to_string(frames) + ": not JSON"});
      return;
    }
    if (auto c = j.find("C"); c != j.end() && c->is_string()) message_id = c->get<std::string>();
    if (auto g = j.find("G"); g != j.end() && g->is_string()) groups_token = g->get<std::string>();
    if (auto r = j.find("R"); r != j.end() && r->is_object()) {
      // The snapshot's own clock, when it has one: Heartbeat.Utc.
      std::string utc;
      if (auto hb = r->find("Heartbeat");
          hb != r->end() && hb->is_object() && hb->contains("Utc") && (*hb)["Utc"].is_string())
        utc = (*hb)["Utc"].get<std::string>();
      for (const auto& [topic, data] : r->items()) enqueue({Item::Snapshot, topic, utc, data.dump(), "snapshot"});
    }
    auto m = j.find("M");
    if (m == j.end() || !m->is_array()) return;
    for (const auto& call : *m) {
      if (!call.is_object() || call.value("M", "") != "feed") continue;
      const auto a = call.find("A");
      if (a == call.end() || !a->is_array() || a->size() < 2 || !(*a)[0].is_string()) continue;
      Item it;
      it.topic = (*a)[0].get<std::string>();
      it.data = (*a)[1].dump();
      it.utc = a->size() > 2 && (*a)[2].is_string() ? (*a)[2].get<std::string>() : std::string();
      it.where = "message " + message_id;
      enqueue(std::move(it));
    }
  }

  void run_network() {
    std::unique_ptr<Transport> t;
    std::string token, cookies, message_id, groups_token;
    int failures = 0;
    std::mt19937 rng(std::random_device{}());
    while (!stopping()) {
      std::uint64_t frames = 0;
      try {
        if (url.tls)
          t = std::make_unique<BeastTransport<true>>(url, o.idle_timeout);
        else
          t = std::make_unique<BeastTransport<false>>(url, o.idle_timeout);
        bool resumed = false;
        if (!token.empty() && !message_id.empty()) {
          // SignalR reconnect: the server resends what came after the last message id.
          try {
            std::string target = url.path + "/reconnect?" + query(token) + "&messageId=" + percent_encode(message_id);
            if (!groups_token.empty()) target += "&groupsToken=" + percent_encode(groups_token);
            t->ws_connect(target, cookies);
            resumed = true;
            std::lock_guard lock(stats_mu);
            ++st.resumed;
            ++st.reconnects;
          } catch (const std::exception& e) {
            event(std::string("resume refused (") + e.what() + "): connecting again from scratch");
            token.clear();
            t->ws_close();
          }
        }
        if (!resumed) {
          cookies.clear();
          auto [status, body] =
              t->get(url.path + "/negotiate?clientProtocol=1.5&connectionData=" + connection_data, cookies);
          if (status != 200) throw std::runtime_error("negotiate answered HTTP " + std::to_string(status));
          json n = json::parse(body, nullptr, false);
          if (n.is_discarded() || !n.contains("ConnectionToken"))
            throw std::runtime_error("negotiate gave no ConnectionToken");
          token = n["ConnectionToken"].get<std::string>();
          message_id.clear();
          groups_token.clear();
          t->ws_connect(url.path + "/connect?" + query(token), cookies);
          try {
            (void)t->get(url.path + "/start?" + query(token), cookies);  // SignalR 2: optional for old servers
          } catch (const std::exception&) {
          }
          json sub = {{"H", o.hub}, {"M", "Subscribe"}, {"A", json::array({o.topics})}, {"I", 1}};
          t->ws_write(sub.dump());
          std::lock_guard lock(stats_mu);
          ++st.connects;
          if (st.connects > 1) ++st.reconnects;
        }
        event(resumed ? "resumed after message " + message_id : "connected to " + o.url);
        std::string text;
        while (t->ws_read(text, [this] { return stopping(); })) {
          if (frames == 0) failures = 0;
          handle(text, message_id, groups_token, frames);
        }
        t->ws_close();
        break;  // stopping
      } catch (const std::exception& e) {
        if (t) t->ws_close();
        if (stopping()) break;
        ++failures;
        if (o.max_attempts > 0 && failures > o.max_attempts) {
          event("giving up after " + std::to_string(failures - 1) + " failed attempts: " + e.what());
          break;
        }
        const double base = std::min<double>(static_cast<double>(o.backoff_max.count()),
                                             static_cast<double>(o.backoff_min.count()) * std::pow(2.0, failures - 1));
        const auto wait = std::chrono::milliseconds(
            static_cast<long long>(base * std::uniform_real_distribution<double>(0.8, 1.0)(rng)));
        event(std::string("disconnected (") + e.what() + "); reconnecting in " +
              std::to_string(static_cast<double>(wait.count()) / 1000.0).substr(0, 4) + " s");
        const auto until = std::chrono::steady_clock::now() + wait;
        while (!stopping() && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    std::lock_guard lock(mu);
    net_done = true;
    cv.notify_all();
  }

  // ---------------------------------------------------------------- reader side

  void ensure_parser(TimeNs first_utc) {
    if (parser) return;
    const TimeNs start = o.start_utc_ns.value_or(first_utc);
    parser = std::make_unique<LiveTimingParser>(start, o.parser);
    parser->on_reject([this](const RejectedLine& r) {
      {
        std::lock_guard lock(stats_mu);
        ++st.rejected;
      }
      if (o.on_reject) o.on_reject(r);
    });
    if (!o.record_dir.empty()) {
      std::ofstream side(o.record_dir / "StartUtc.txt");
      side << format_utc_datetime(start) << "\n";
    }
  }

  void record(const std::string& topic, TimeNs t, const std::string& data) {
    if (o.record_dir.empty() || topic.empty() || topic.find('/') != std::string::npos) return;
    auto it = files.find(topic);
    if (it == files.end()) {
      it = files.emplace(topic, std::ofstream(o.record_dir / (topic + ".jsonStream"), std::ios::binary)).first;
    }
    const TimeNs rel = std::max<TimeNs>(0, t);
    const long long ms = rel / 1'000'000;
    char stamp[40];
    std::snprintf(stamp, sizeof stamp, "%02lld:%02lld:%02lld.%03lld", ms / 3'600'000, (ms / 60'000) % 60,
                  (ms / 1000) % 60, ms % 1000);
    it->second << stamp << data << "\r\n";
    it->second.flush();
  }

  void use(const std::string& topic, TimeNs utc, const json& data, const std::string& text, std::string where) {
    ensure_parser(utc);
    merge_delta(state[topic], data);
    const TimeNs t = utc - parser->start_utc_ns();
    record(topic, t, text);
    parser->push(topic, t, text, std::move(where));
  }

  void process(const Item& it) {
    if (it.topic.empty()) {  // a frame that is not JSON
      RejectedLine r{it.where, Reason::MalformedJson, "a SignalR frame that is not JSON", it.data};
      std::lock_guard lock(stats_mu);
      ++st.rejected;
      if (o.on_reject) o.on_reject(r);
      return;
    }
    if (it.kind == Item::Feed) {
      const std::uint64_t key = std::hash<std::string>{}(it.topic + '\x1f' + it.utc + '\x1f' + it.data);
      if (seen.contains(key)) {
        std::lock_guard lock(stats_mu);
        ++st.duplicates;
        return;
      }
      auto utc = parse_utc_datetime(it.utc);
      if (!utc) {
        std::lock_guard lock(stats_mu);
        ++st.rejected;
        if (o.on_reject)
          o.on_reject(RejectedLine{it.where, Reason::OutOfRange, "no UTC time in the feed message", it.data});
        return;
      }
      seen.insert(key);
      seen_order.push_back(key);
      if (seen_order.size() > 500'000) {
        seen.erase(seen_order.front());
        seen_order.pop_front();
      }
      json data = json::parse(it.data, nullptr, false);
      latest_utc = std::max(latest_utc, *utc);
      {
        std::lock_guard lock(stats_mu);
        ++st.messages;
      }
      use(it.topic, *utc, data, it.data, it.where);
      return;
    }
    // A snapshot (subscribe reply): feed what differs from what this client already holds.
    json snap = json::parse(it.data, nullptr, false);
    {
      std::lock_guard lock(stats_mu);
      ++st.snapshots;
    }
    // At the latest message's time; before any: the snapshot's clock (Heartbeat), the given start, else now.
    TimeNs at = latest_utc;
    if (at == 0) {
      if (auto hb = parse_utc_datetime(it.utc)) {
        at = *hb;
      } else if (o.start_utc_ns) {
        at = *o.start_utc_ns;
      } else {
        at = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count();
      }
    }
    auto d = diff(state[it.topic], snap);
    if (!d) return;
    {
      std::lock_guard lock(stats_mu);
      ++st.snapshot_diffs;
    }
    use(it.topic, at, *d, d->dump(), "snapshot of " + it.topic);
  }

  std::string derive_session() const {
    if (!o.session_id.empty()) return o.session_id;
    auto it = state.find("SessionInfo");
    if (it != state.end() && it->second.is_object()) {
      const json& si = it->second;
      std::string date = si.value("StartDate", "");
      std::string meeting = si.contains("Meeting") && si["Meeting"].is_object() ? si["Meeting"].value("Name", "") : "";
      std::string name = si.value("Name", "");
      if (date.size() >= 10 && !meeting.empty()) {
        std::string id = date.substr(0, 10) + "_" + meeting + (name.empty() ? "" : "_" + name);
        std::replace(id.begin(), id.end(), ' ', '_');
        return id;
      }
    }
    return "livetiming-" + format_utc_datetime(parser ? parser->start_utc_ns() : 0).substr(0, 10);
  }

  std::optional<Input> next() {
    while (true) {
      if (parser) {
        if (auto r = parser->pop()) {
          if (session.empty()) session = derive_session();
          return r;
        }
      }
      if (ended) return std::nullopt;
      Item item;
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !queue.empty() || net_done; });
        if (queue.empty()) {
          if (!net_done) continue;
          lock.unlock();
          if (parser) parser->finish();
          ended = true;
          continue;
        }
        item = std::move(queue.front());
        queue.pop_front();
      }
      process(item);
    }
  }
};

LiveTimingClient::LiveTimingClient(LiveTimingClientOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.o = std::move(options);
  m.url = parse_url(m.o.url);
  m.connection_data = percent_encode(json::array({{{"name", m.o.hub}}}).dump());
  m.session = m.o.session_id;
  if (!m.o.record_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(m.o.record_dir, ec);
    if (ec || !std::filesystem::is_directory(m.o.record_dir))
      throw ConfigError("--record: cannot create directory " + m.o.record_dir.string());
  }
  m.net = std::thread([&m] { m.run_network(); });
}

LiveTimingClient::~LiveTimingClient() {
  impl_->closing = true;
  if (impl_->net.joinable()) impl_->net.join();
}

const std::string& LiveTimingClient::session_id() const { return impl_->session; }
std::optional<Input> LiveTimingClient::next() { return impl_->next(); }
LiveTimingClientStats LiveTimingClient::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->st;
}

}  // namespace boxcall::sources
