#include "serve/http_server.h"

// GCC 12 in C++20 mode: Asio's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/result.h"

namespace boxcall::serve {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;

std::pair<std::string, std::uint16_t> split_address(const std::string& address, const std::string& what) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    throw ConfigError(what + ": '" + address + "' is not host:port (e.g. 127.0.0.1:9464)");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // ":9464" changes the port only: listening on every interface is asked for by name (0.0.0.0, [::]).
  if (host.empty()) host = "127.0.0.1";
  unsigned port = 0;
  const auto* b = address.data() + colon + 1;
  const auto* e = address.data() + address.size();
  auto [p, ec] = std::from_chars(b, e, port);
  if (ec != std::errc{} || p != e || port > 65535) {
    throw ConfigError(what + ": '" + address + "' has no valid port (0-65535)");
  }
  return {host, static_cast<std::uint16_t>(port)};
}

namespace {

/// Route labels of boxcall_http_requests_total: a bounded set.
enum class Route : std::uint8_t { Page, Static, Healthz, Readyz, Sessions, Session, Events, Models, Metrics, Other };
constexpr std::array<std::string_view, 10> kRouteNames{"page",    "static", "healthz", "readyz",  "sessions",
                                                       "session", "events", "models",  "metrics", "other"};

std::string percent_decode(std::string_view in, bool& ok) {
  std::string out;
  ok = true;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      unsigned v = 0;
      if (i + 2 >= in.size()) {
        ok = false;
        return {};
      }
      auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec != std::errc{} || p != in.data() + i + 3) {
        ok = false;
        return {};
      }
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

/// Session ids are record keys: printable text without '/', at most 256 bytes.
bool valid_session_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f && c != '/';
  });
}

std::string_view content_type(const std::filesystem::path& p) {
  static const std::map<std::string, std::string_view> kTypes{{".html", "text/html; charset=utf-8"},
                                                              {".js", "text/javascript; charset=utf-8"},
                                                              {".css", "text/css; charset=utf-8"},
                                                              {".svg", "image/svg+xml"},
                                                              {".png", "image/png"},
                                                              {".ico", "image/x-icon"},
                                                              {".json", "application/json"},
                                                              {".yaml", "application/yaml; charset=utf-8"},
                                                              {".txt", "text/plain; charset=utf-8"},
                                                              {".woff2", "font/woff2"}};
  auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? std::string_view("application/octet-stream") : it->second;
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

}  // namespace

struct HttpServer::Impl {
  LiveView& view;
  ServerOptions opts;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::string host;
  std::uint16_t bound_port = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> wake_posted{false};
  std::size_t listener = 0;

  class EventStream;
  std::vector<std::weak_ptr<EventStream>> streams;  // io thread only

  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Gauge* event_clients = nullptr;

  Impl(LiveView& v, ServerOptions o) : view(v), opts(std::move(o)) {
    auto [h, port] = split_address(opts.address, "http address");
    host = h;
    try {
      tcp::resolver resolver(io);
      auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive);
      if (results.empty()) throw ConfigError("cannot resolve " + host);
      const tcp::endpoint ep = results.begin()->endpoint();
      acceptor.open(ep.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      acceptor.bind(ep);
      acceptor.listen(asio::socket_base::max_listen_connections);
      bound_port = acceptor.local_endpoint().port();
    } catch (const boost::system::system_error& e) {
      throw ConfigError("cannot serve HTTP on '" + opts.address + "': " + e.code().message());
    }
    if (opts.registry) {
      requests = &prometheus::BuildCounter()
                      .Name("boxcall_http_requests_total")
                      .Help("HTTP requests served, per route and status code")
                      .Register(*opts.registry);
      event_clients = &prometheus::BuildGauge()
                           .Name("boxcall_http_event_clients")
                           .Help("Open Server-Sent Events connections (live pages)")
                           .Register(*opts.registry)
                           .Add({});
    }
    listener = view.on_change([this] { notify(); });
    accept();
    thread = std::thread([this] { io.run(); });
  }

  ~Impl() {
    view.remove_listener(listener);
    asio::post(io, [this] {
      beast::error_code ec;
      acceptor.close(ec);
      for (auto& w : streams) {
        if (auto s = w.lock()) s->close();
      }
      io.stop();
    });
    thread.join();
  }

  /// From the feed's worker: wake every event stream once per burst of changes.
  void notify() {
    if (wake_posted.exchange(true)) return;
    asio::post(io, [this] {
      wake_posted = false;
      std::erase_if(streams, [](const auto& w) { return w.expired(); });
      for (auto& w : streams) {
        if (auto s = w.lock()) s->pump();
      }
    });
  }

  void count(Route r, unsigned code) {
    if (requests) {
      requests->Add({{"route", std::string(kRouteNames[static_cast<std::size_t>(r)])}, {"code", std::to_string(code)}})
          .Increment();
    }
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec != asio::error::operation_aborted) spdlog::warn("http: accept: {}", ec.message());
        if (!acceptor.is_open()) return;
      } else {
        std::make_shared<Connection>(*this, std::move(socket))->read();
      }
      if (acceptor.is_open()) accept();
    });
  }

  // ------------------------------------------------------------ responses

  static Response json_response(const Request& req, http::status status, std::string body) {
    Response res{status, req.version()};
    res.set(http::field::server, "boxcall");
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.body() += '\n';
    return res;
  }

  static Response error(const Request& req, http::status status, const std::string& message) {
    return json_response(req, status,
                         json{{"error", std::string(http::obsolete_reason(status))},
                              {"status", static_cast<unsigned>(status)},
                              {"message", message}}
                             .dump());
  }

  Response static_file(const Request& req, const std::string& name) {
    if (opts.web_root.empty() || !std::filesystem::is_directory(opts.web_root)) {
      return error(req, http::status::not_found,
                   "the page's files were not found (" +
                       (opts.web_root.empty() ? std::string("no web directory") : opts.web_root.string()) +
                       "); the API still works: /sessions, /healthz, /metrics");
    }
    const bool safe =
        !name.empty() && name.find("..") == std::string::npos && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        });
    if (!safe) return error(req, http::status::bad_request, "bad file name");
    const auto path = opts.web_root / name;
    auto body = read_file(path);
    if (!body) return error(req, http::status::not_found, "no file " + name);
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "boxcall");
    res.set(http::field::content_type, std::string(content_type(path)));
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(*body);
    return res;
  }

  Response readyz(const Request& req) {
    std::vector<ReadinessCheck> checks;
    if (opts.readiness) checks = opts.readiness();
    const bool ready = std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.ok; });
    json list = json::array();
    for (const auto& c : checks) list.push_back(json{{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    return json_response(req, ready ? http::status::ok : http::status::service_unavailable,
                         json{{"ready", ready}, {"checks", std::move(list)}}.dump());
  }

  Response models(const Request& req) {
    json files = json::array();
    if (!opts.models_dir.empty()) {
      std::vector<std::filesystem::path> metas;
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(opts.models_dir, ec)) {
        const auto n = e.path().filename().string();
        if (n.size() > 10 && n.ends_with(".meta.json")) metas.push_back(e.path());
      }
      std::sort(metas.begin(), metas.end());
      for (const auto& m : metas) {
        json entry{{"file", m.filename().string()}};
        auto text = read_file(m);
        try {
          entry["meta"] = text ? json::parse(*text) : json(nullptr);
        } catch (const json::exception& e) {
          entry["meta"] = nullptr;
          entry["error"] = std::string("does not parse: ") + e.what();
        }
        files.push_back(std::move(entry));
      }
    }
    json serving = json::array();
    for (const auto& v : view.model_versions()) serving.push_back(v);
    return json_response(req, http::status::ok,
                         json{{"dir", opts.models_dir.empty() ? json(nullptr) : json(opts.models_dir.string())},
                              {"fallback", opts.models_dir.empty() ? json(opts.models_fallback) : json(nullptr)},
                              {"models", std::move(files)},
                              {"serving_versions", std::move(serving)}}
                             .dump());
  }

  Response metrics(const Request& req) {
    if (!opts.registry) return error(req, http::status::not_found, "no metrics registry");
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "boxcall");
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = prometheus::TextSerializer().Serialize(opts.registry->Collect());
    return res;
  }

  Response healthz(const Request& req) {
    const auto up = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return json_response(
        req, http::status::ok,
        json{{"status", "ok"}, {"version", opts.version}, {"uptime_s", std::round(up * 10) / 10}}.dump());
  }

  // ------------------------------------------------------------ connections

  class EventStream : public std::enable_shared_from_this<EventStream> {
   public:
    EventStream(Impl& srv, beast::tcp_stream stream, std::string session, std::uint64_t since)
        : srv_(srv), stream_(std::move(stream)), session_(std::move(session)), since_(since), heartbeat_(srv.io) {}

    void start(unsigned version) {
      stream_.expires_never();
      out_ = std::string("HTTP/1.") + (version == 10 ? "0" : "1") +
             " 200 OK\r\nServer: boxcall\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
             "Connection: keep-alive\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n";
      srv_.streams.push_back(weak_from_this());
      if (srv_.event_clients) srv_.event_clients->Increment();
      counted_ = true;
      watch_close();
      arm_heartbeat();
      flush();
    }

    /// New events may be there (io thread).
    void pump() {
      if (closed_ || writing_) return;
      auto batch = srv_.view.events_after(session_, since_, 2000);
      if (batch.gap) out_ += "event: reset\ndata: {}\n\n";
      since_ = batch.next_since;
      for (const auto& e : batch.events) {
        out_ += "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
      }
      flush();
    }

    void close() {
      if (closed_) return;
      closed_ = true;
      heartbeat_.cancel();
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
      if (counted_ && srv_.event_clients) srv_.event_clients->Decrement();
      counted_ = false;
    }

   private:
    void flush() {
      if (closed_ || writing_ || out_.empty()) return;
      writing_ = true;
      sending_.swap(out_);
      out_.clear();
      asio::async_write(stream_, asio::buffer(sending_),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          self->writing_ = false;
                          self->sending_.clear();
                          if (ec) return self->close();
                          // Changes that arrived during the write were not collected (pump returns
                          // while writing): collect them now, then write what is due.
                          self->pump();
                        });
    }

    void watch_close() {
      stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->watch_close();
      });
    }

    void arm_heartbeat() {
      heartbeat_.expires_after(srv_.opts.heartbeat);
      heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->closed_) return;
        self->out_ += ": ping\n\n";
        self->flush();
        self->arm_heartbeat();
      });
    }

    Impl& srv_;
    beast::tcp_stream stream_;
    std::string session_;
    std::uint64_t since_;
    asio::steady_timer heartbeat_;
    std::string out_, sending_;
    std::array<char, 512> scratch_{};
    bool writing_ = false, closed_ = false, counted_ = false;
  };

  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {}

    void read() {
      parser_.emplace();
      parser_->body_limit(std::uint64_t{16} * 1024U);
      parser_->header_limit(std::uint32_t{16} * 1024U);
      stream_.expires_after(60s);
      http::async_read(stream_, buffer_, *parser_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

   private:
    void on_read(beast::error_code ec) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        return shut();
      }
      if (ec) {
        // A malformed request: answer once with a JSON error, then close.
        Request bare;
        bare.version(11);
        bare.keep_alive(false);
        auto status = http::status::bad_request;
        if (ec == http::error::body_limit) status = http::status::payload_too_large;
        if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
        srv_.count(Route::Other, static_cast<unsigned>(status));
        return send(error(bare, status, "malformed HTTP request: " + ec.message()));
      }
      handle(parser_->release());
    }

    void handle(const Request& req) {
      const bool head = req.method() == http::verb::head;
      const std::string_view target(req.target().data(), req.target().size());
      const auto qpos = target.find('?');
      const std::string_view raw_path = target.substr(0, qpos);
      const std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
      bool decoded_ok = true;
      const std::string path = percent_decode(raw_path, decoded_ok);
      Route route = Route::Other;
      Response res;
      if (!decoded_ok || path.empty() || path.front() != '/') {
        res = error(req, http::status::bad_request, "bad request target");
      } else if (req.method() != http::verb::get && !head) {
        res = error(req, http::status::method_not_allowed, "only GET and HEAD are served");
        res.set(http::field::allow, "GET, HEAD");
      } else if (path == "/" || path == "/index.html") {
        route = Route::Page;
        res = srv_.static_file(req, "index.html");
      } else if (path.starts_with("/static/")) {
        route = Route::Static;
        res = srv_.static_file(req, path.substr(8));
      } else if (path == "/healthz") {
        route = Route::Healthz;
        res = srv_.healthz(req);
      } else if (path == "/readyz") {
        route = Route::Readyz;
        res = srv_.readyz(req);
      } else if (path == "/models") {
        route = Route::Models;
        res = srv_.models(req);
      } else if (path == "/metrics") {
        route = Route::Metrics;
        res = srv_.metrics(req);
      } else if (path == "/sessions" || path == "/sessions/") {
        route = Route::Sessions;
        res = json_response(req, http::status::ok, srv_.view.sessions_json());
      } else if (path.starts_with("/sessions/")) {
        std::string rest = path.substr(10);
        const bool events = rest.ends_with("/events");
        if (events) rest.resize(rest.size() - 7);
        route = events ? Route::Events : Route::Session;
        if (!valid_session_id(rest)) {
          res = error(req, http::status::bad_request, "bad session id (printable text without '/', 1-256 bytes)");
        } else if (events) {
          return start_events(req, rest, query, head);
        } else if (auto body = srv_.view.session_json(rest)) {
          res = json_response(req, http::status::ok, std::move(*body));
        } else {
          res = error(req, http::status::not_found, "no session '" + rest + "' (GET /sessions lists them)");
        }
      } else {
        res = error(req, http::status::not_found, "no route " + path + " (see docs/openapi.yaml)");
      }
      srv_.count(route, static_cast<unsigned>(res.result_int()));
      res.prepare_payload();
      if (head) res.body().clear();
      send(std::move(res));
    }

    void start_events(const Request& req, const std::string& session, std::string_view query, bool head) {
      // ?since=N (the `seq` of the state the page loaded), or the browser's Last-Event-ID on reconnect.
      std::optional<std::uint64_t> since;
      std::string_view since_text;
      for (std::size_t pos = 0; pos <= query.size();) {
        auto amp = query.find('&', pos);
        if (amp == std::string_view::npos) amp = query.size();
        auto kv = query.substr(pos, amp - pos);
        if (kv.starts_with("since=")) since_text = kv.substr(6);
        pos = amp + 1;
      }
      if (auto it = req.find("Last-Event-ID"); it != req.end()) since_text = {it->value().data(), it->value().size()};
      if (!since_text.empty()) {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(since_text.data(), since_text.data() + since_text.size(), v);
        if (ec != std::errc{} || p != since_text.data() + since_text.size()) {
          auto res = error(req, http::status::bad_request, "since must be a non-negative integer (an event seq)");
          srv_.count(Route::Events, 400);
          res.prepare_payload();
          return send(std::move(res));
        }
        since = v;
      }
      std::size_t open = 0;
      for (const auto& w : srv_.streams) open += w.expired() ? 0 : 1;
      if (head || open >= srv_.opts.max_event_clients) {
        auto res = head ? json_response(req, http::status::ok, "{}")
                        : error(req, http::status::service_unavailable,
                                "too many event streams open (" + std::to_string(open) + ")");
        srv_.count(Route::Events, static_cast<unsigned>(res.result_int()));
        res.prepare_payload();
        if (head) res.body().clear();
        return send(std::move(res));
      }
      srv_.count(Route::Events, 200);
      // Without ?since the stream starts now (a client that did not load the state first).
      auto stream =
          std::make_shared<EventStream>(srv_, std::move(stream_), session, since.value_or(srv_.view.last_seq()));
      stream->start(req.version());
    }

    void send(Response res) {
      auto sp = std::make_shared<Response>(std::move(res));
      http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
        if (ec || sp->need_eof()) return self->shut();
        self->read();
      });
    }

    void shut() {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    Impl& srv_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
  };
};

HttpServer::HttpServer(LiveView& view, ServerOptions options)
    : impl_(std::make_unique<Impl>(view, std::move(options))) {}
HttpServer::~HttpServer() = default;
std::uint16_t HttpServer::port() const { return impl_->bound_port; }
std::string HttpServer::url() const {
  std::string host = impl_->host;
  if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(impl_->bound_port) + "/";
}

}  // namespace boxcall::serve
