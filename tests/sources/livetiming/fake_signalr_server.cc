#include "fake_signalr_server.h"

#include <poll.h>

#include <utility>
// Boost.Asio/Beast after <utility> (GCC 12 + C++20).
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "base/time_text.h"

namespace boxcall::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

struct Line {
  TimeNs t;
  std::string topic, data;
};

std::optional<TimeNs> stream_time(std::string_view s) {
  if (s.size() < 12 || s[2] != ':' || s[5] != ':' || s[8] != '.') return std::nullopt;
  for (std::size_t i : {0, 1, 3, 4, 6, 7, 9, 10, 11})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  auto d = [&](std::size_t i, std::size_t n) {
    TimeNs v = 0;
    for (std::size_t k = i; k < i + n; ++k) v = v * 10 + (s[k] - '0');
    return v;
  };
  return ((d(0, 2) * 60 + d(3, 2)) * 60 + d(6, 2)) * kNsPerSecond + d(9, 3) * 1'000'000;
}

/// The lines of every .jsonStream in `dir`, in the recorded-file adapter's order:
/// repeatedly the earliest next line across files, ties to the file first by path.
std::vector<Line> load(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jsonStream") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  std::vector<std::vector<Line>> per_file;
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::vector<Line> v;
    for (std::string raw; std::getline(in, raw);) {
      if (raw.starts_with("\xEF\xBB\xBF")) raw.erase(0, 3);
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      auto t = stream_time(raw);
      if (!t) continue;
      json ok = json::parse(raw.begin() + 12, raw.end(), nullptr, false);
      if (ok.is_discarded()) continue;
      v.push_back({*t, p.stem().string(), raw.substr(12)});
    }
    per_file.push_back(std::move(v));
  }
  std::vector<Line> out;
  std::vector<std::size_t> at(per_file.size(), 0);
  while (true) {
    std::size_t best = per_file.size();
    for (std::size_t i = 0; i < per_file.size(); ++i) {
      if (at[i] < per_file[i].size() && (best == per_file.size() || per_file[i][at[i]].t < per_file[best][at[best]].t))
        best = i;
    }
    if (best == per_file.size()) break;
    out.push_back(per_file[best][at[best]++]);
  }
  return out;
}

void merge(json& dst, const json& src) {
  if (src.is_array()) {
    json obj = json::object();
    for (std::size_t i = 0; i < src.size(); ++i) obj[std::to_string(i)] = src[i];
    merge(dst, obj);
    return;
  }
  if (!src.is_object()) {
    dst = src;
    return;
  }
  if (!dst.is_object()) dst = json::object();
  for (const auto& [k, v] : src.items()) merge(dst[k], v);
}

std::map<std::string, std::string> query_of(std::string_view target) {
  std::map<std::string, std::string> q;
  const auto qm = target.find('?');
  if (qm == std::string_view::npos) return q;
  std::string_view rest = target.substr(qm + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    const auto eq = kv.find('=');
    std::string value(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    std::string decoded;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '%' && i + 2 < value.size()) {
        decoded += static_cast<char>(std::stoi(value.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        decoded += value[i];
      }
    }
    q[std::string(kv.substr(0, eq))] = decoded;
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return q;
}

}  // namespace

struct FakeSignalRServer::Impl {
  FakeSignalROptions o;
  std::vector<Line> lines;
  FakeSignalRStats stats;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  std::thread accept_thread;
  std::mutex mu;
  std::vector<std::thread> connections;
  std::size_t pos = 0;  ///< the next line of the "live" session
  std::map<std::string, json> state;
  bool dropped = false;
  int tokens = 0;

  void pass(std::size_t upto) {  // caller holds mu
    for (; pos < upto && pos < lines.size(); ++pos) {
      json d = json::parse(lines[pos].data, nullptr, false);
      merge(state[lines[pos].topic], d);
    }
    if (pos >= lines.size()) stats.done = true;
  }

  template <typename Body>
  void respond(beast::tcp_stream& s, const http::request<Body>& req, http::status status, std::string body,
               bool cookie = false) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, "application/json");
    if (cookie) res.set(http::field::set_cookie, "AWSALBCORS=fake-cookie; Path=/; SameSite=None");
    res.body() = std::move(body);
    res.prepare_payload();
    beast::error_code ec;
    http::write(s, res, ec);
  }

  void serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    beast::error_code ec;
    http::read(stream, buf, req, ec);
    if (ec) return;
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    auto q = query_of(target);
    if (std::string(req[http::field::cookie]).find("AWSALBCORS=fake-cookie") != std::string::npos)
      stats.cookie_echoed = true;
    if (path.ends_with("/negotiate")) {
      if (stats.done) return respond(stream, req, http::status::service_unavailable, "{}");
      ++stats.negotiations;
      std::string token;
      {
        std::lock_guard lock(mu);
        token = "token+/=" + std::to_string(++tokens);  // characters the client must percent-encode
      }
      json n = {{"Url", "/signalr"},        {"ConnectionToken", token},       {"ConnectionId", "c"},
                {"KeepAliveTimeout", 20.0}, {"DisconnectTimeout", 30.0},      {"TryWebSockets", true},
                {"ProtocolVersion", "1.5"}, {"TransportConnectTimeout", 10.0}};
      return respond(stream, req, http::status::ok, n.dump(), true);
    }
    if (path.ends_with("/start")) {
      ++stats.starts;
      return respond(stream, req, http::status::ok, R"({"Response":"started"})");
    }
    const bool reconnect = path.ends_with("/reconnect");
    if (!websocket::is_upgrade(req) || !(reconnect || path.ends_with("/connect")) || q["transport"] != "webSockets" ||
        q["connectionToken"].rfind("token+/=", 0) != 0) {
      return respond(stream, req, http::status::bad_request, "{}");
    }
    if (reconnect && (o.refuse_reconnect || stats.done)) {
      ++stats.refused;
      return respond(stream, req, http::status::bad_request, R"({"error":"unknown connection"})");
    }
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    ws.accept(req, ec);
    if (ec) return;
    ws.text(true);
    ws.write(net::buffer(std::string(R"({"C":"s-0,0","S":1,"M":[]})")), ec);
    std::size_t from = 0;
    if (reconnect) {
      ++stats.reconnects;
      const std::string id = q["messageId"];
      const std::size_t k = id.rfind("d-", 0) == 0 ? std::stoul(id.substr(2)) : 0;
      from = k > o.resend_overlap ? k - o.resend_overlap : 0;  // resends what the client had: it must dedupe
    } else {
      ++stats.connects;
      beast::flat_buffer b;
      ws.read(b, ec);
      if (ec) return;
      json sub = json::parse(beast::buffers_to_string(b.data()), nullptr, false);
      if (sub.is_discarded() || sub.value("M", "") != "Subscribe") return;
      ++stats.subscribes;
      json r = json::object();
      {
        std::lock_guard lock(mu);
        for (const auto& topic : sub["A"][0]) {
          const std::string name = topic.get<std::string>();
          auto it = state.find(name);
          r[name] = it == state.end() ? json::object() : it->second;
        }
        from = pos;
      }
      ws.write(net::buffer(json({{"R", r}, {"I", sub.value("I", json(1)).dump()}}).dump()), ec);
      if (ec) return;
    }
    for (std::size_t i = from; i < lines.size() && !stopping; ++i) {
      {
        std::lock_guard lock(mu);
        if (i >= pos) pass(i + 1);
      }
      const Line& l = lines[i];
      const std::string msg = R"({"C":"d-)" + std::to_string(i + 1) + R"(","M":[{"H":"Streaming","M":"feed","A":[")" +
                              l.topic + "\"," + l.data + ",\"" + format_utc_datetime(o.start_utc_ns + l.t) + "\"]}]}";
      ws.write(net::buffer(msg), ec);
      if (ec) return;
      const std::size_t sent = ++stats.sent;
      bool drop = false;
      {
        std::lock_guard lock(mu);
        if (o.drop_after && !dropped && sent >= o.drop_after) {
          dropped = true;
          drop = true;
          if (o.refuse_reconnect) pass(pos + o.pass_while_down);  // the session goes on while the client is away
        }
      }
      if (drop) {
        beast::get_lowest_layer(ws).socket().close(ec);  // abruptly: no close frame
        return;
      }
    }
    ws.close(websocket::close_code::normal, ec);
  }

  void accept_loop() {
    while (!stopping) {
      pollfd p{acceptor.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      beast::error_code ec;
      tcp::socket s(ioc);
      acceptor.accept(s, ec);
      if (ec) continue;
      std::lock_guard lock(mu);
      connections.emplace_back([this, sock = std::move(s)]() mutable { serve(std::move(sock)); });
    }
  }
};

FakeSignalRServer::FakeSignalRServer(FakeSignalROptions options) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->lines = load(impl_->o.session_dir);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
}

FakeSignalRServer::~FakeSignalRServer() {
  impl_->stopping = true;
  impl_->accept_thread.join();
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(impl_->mu);
    conns.swap(impl_->connections);
  }
  for (auto& t : conns) t.join();
}

std::uint16_t FakeSignalRServer::port() const { return impl_->acceptor.local_endpoint().port(); }
const FakeSignalRStats& FakeSignalRServer::stats() const { return impl_->stats; }
std::size_t FakeSignalRServer::lines() const { return impl_->lines.size(); }

}  // namespace boxcall::testing
