// boxcall's HTTP port over real loopback sockets (port 0): routes, JSON errors for bad
// requests, /metrics from the registry, readiness, the page's files, and live events.
#include <gtest/gtest.h>

// GCC 12 in C++20 mode: Asio's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>

#include <prometheus/counter.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/result.h"
#include "serve/http_server.h"
#include "stream/config.h"

namespace boxcall::serve {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;
};

/// One request on a fresh connection ("Connection: close"), read to EOF.
Reply request(std::uint16_t port, const std::string& raw) {
  boost::asio::ip::tcp::iostream s;
  s.expires_after(10s);
  s.connect("127.0.0.1", std::to_string(port));
  s << raw << std::flush;
  Reply r;
  std::string line;
  std::getline(s, line);
  if (line.size() > 12) r.status = std::stoi(line.substr(9, 3));
  while (std::getline(s, line) && line != "\r") r.headers += line + "\n";
  r.body.assign(std::istreambuf_iterator<char>(s), {});
  return r;
}
Reply get(std::uint16_t port, const std::string& target) {
  return request(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

LapFeatures lap(std::uint16_t car, int lap_no) {
  LapFeatures f;
  f.car = car;
  f.driver = DriverCode("VER");
  f.lap = lap_no;
  f.position = 1;
  f.lap_time_s = 93.5;
  return f;
}

struct Fixture : ::testing::Test {
  LiveView view;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::filesystem::path web = std::filesystem::temp_directory_path() / ("boxcall-web-" + std::to_string(::getpid()));
  bool ready = false;
  std::unique_ptr<HttpServer> server;

  void SetUp() override {
    std::filesystem::create_directories(web);
    std::ofstream(web / "index.html") << "<!doctype html><title>pit wall</title>";
    std::ofstream(web / "app.js") << "console.log(1)";
    prometheus::BuildCounter().Name("boxcall_test_total").Help("t").Register(*registry).Add({}).Increment(3);
    ServerOptions o;
    o.address = "127.0.0.1:0";
    o.web_root = web;
    o.models_dir = std::string(BOXCALL_SOURCE_DIR) + "/models";
    o.version = "9.9.9";
    o.registry = registry;
    o.readiness = [this] { return std::vector<ReadinessCheck>{{"partitions_assigned", ready, "test"}}; };
    o.heartbeat = 200ms;
    server = std::make_unique<HttpServer>(view, o);
  }
  void TearDown() override {
    server.reset();
    std::filesystem::remove_all(web);
  }
};

TEST_F(Fixture, ServesHealthSessionsModelsMetricsAndThePage) {
  const auto port = server->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(port) + "/");

  auto health = get(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body)["version"], "9.9.9");
  EXPECT_NE(health.headers.find("application/json"), std::string::npos);

  auto notready = get(port, "/readyz");
  EXPECT_EQ(notready.status, 503);
  EXPECT_EQ(json::parse(notready.body)["ready"], false);
  ready = true;
  EXPECT_EQ(get(port, "/readyz").status, 200);

  EXPECT_EQ(json::parse(get(port, "/sessions").body)["sessions"].size(), 0U);
  std::vector<SessionOutput> b{{"bahrain 2023", lap(1, 3)}};
  view.apply(b);
  auto list = json::parse(get(port, "/sessions").body);
  ASSERT_EQ(list["sessions"].size(), 1U);
  EXPECT_EQ(list["sessions"][0]["id"], "bahrain 2023");
  auto one = get(port, "/sessions/bahrain%202023");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["tower"][0]["lap"], 3);

  auto models = json::parse(get(port, "/models").body);
  ASSERT_GE(models["models"].size(), 2U);
  EXPECT_EQ(models["models"][0]["file"], "lap_time.meta.json");
  EXPECT_TRUE(models["models"][0]["meta"].contains("version"));

  auto metrics = get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("boxcall_test_total 3"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("boxcall_http_requests_total{"), std::string::npos);

  auto page = get(port, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("pit wall"), std::string::npos);
  EXPECT_NE(get(port, "/static/app.js").headers.find("text/javascript"), std::string::npos);
  auto head = request(port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(Fixture, BadRequestsGet4xxWithAJsonError) {
  const auto port = server->port();
  auto expect_json_error = [](const Reply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["status"], status);
    EXPECT_TRUE(j.contains("message"));
  };
  expect_json_error(get(port, "/nope"), 404);
  expect_json_error(get(port, "/sessions/unknown"), 404);
  expect_json_error(get(port, "/static/../secret"), 400);
  expect_json_error(get(port, "/static/missing.js"), 404);
  expect_json_error(get(port, "/sessions/%zz"), 400);
  expect_json_error(get(port, "/sessions/x/events?since=abc"), 400);
  auto post = request(port, "POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  expect_json_error(post, 405);
  EXPECT_NE(post.headers.find("Allow: GET, HEAD"), std::string::npos);
  expect_json_error(request(port, "THIS IS NOT HTTP\r\n\r\n"), 400);
  const std::string big(20000, 'x');
  expect_json_error(request(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n"), 431);
}

TEST_F(Fixture, EventStreamSendsChangesAfterTheCursor) {
  const auto port = server->port();
  std::vector<SessionOutput> first{{"live", lap(1, 1)}};
  view.apply(first);
  const auto since = view.last_seq();
  boost::asio::ip::tcp::iostream s;
  s.expires_after(10s);
  s.connect("127.0.0.1", std::to_string(port));
  s << "GET /sessions/live/events?since=" << since << " HTTP/1.1\r\nHost: x\r\n\r\n" << std::flush;
  std::string line;
  std::getline(s, line);
  EXPECT_NE(line.find("200"), std::string::npos) << line;
  bool event_stream = false;
  while (std::getline(s, line) && line != "\r") event_stream |= line.find("text/event-stream") != std::string::npos;
  EXPECT_TRUE(event_stream);
  std::vector<SessionOutput> next{{"other", lap(5, 1)}, {"live", lap(1, 2)}};
  view.apply(next);
  std::string type, data;
  bool ping = false;
  while (std::getline(s, line)) {  // bounded by the stream's 10 s expiry
    if (line.starts_with(": ping")) ping = true;
    if (line.starts_with("event: ")) type = line.substr(7);
    if (line.starts_with("data: ") && type == "lap") {
      data = line.substr(6);
      break;
    }
  }
  ASSERT_FALSE(data.empty()) << "no lap event";
  auto j = json::parse(data);
  EXPECT_EQ(j["car"], 1) << "only the session's own events";
  EXPECT_EQ(j["point"]["lap"], 2);
  while (!ping && std::getline(s, line)) ping = line.starts_with(": ping");
  EXPECT_TRUE(ping) << "heartbeat comments keep idle streams alive";
}

TEST(HttpServerAddress, BadAddressesFailAtStart) {
  LiveView view;
  ServerOptions o;
  o.address = "127.0.0.1";
  EXPECT_THROW(HttpServer(view, o), ConfigError);
  o.address = "127.0.0.1:99999";
  EXPECT_THROW(HttpServer(view, o), ConfigError);
  o.address = "127.0.0.1:0";
  HttpServer first(view, o);
  o.address = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_THROW(HttpServer(view, o), ConfigError) << "address in use";
}

/// The local IPv4 address (as /proc/net/tcp writes it, e.g. 0100007F) of the socket listening on `port`.
std::string listening_address(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string slot, local, remote, state;
    f >> slot >> local >> remote >> state;
    if (state == "0A" && local.size() > 5 && local.ends_with(want)) return local.substr(0, local.size() - 5);
  }
  return "";
}

// Issue 10: the HTTP endpoints bind to loopback unless configured otherwise; a port alone keeps loopback.
TEST(HttpServerAddress, LoopbackUnlessAnotherAddressIsNamed) {
  LiveView view;
  ServerOptions o;
  EXPECT_EQ(o.address, "127.0.0.1:9464") << "the default";
  EXPECT_EQ(stream::StreamConfig{}.metrics_address, "127.0.0.1:9464") << "[metrics] address and run --http";
  o.address = ":0";
  HttpServer port_only(view, o);
  EXPECT_EQ(listening_address(port_only.port()), "0100007F") << "':PORT' listens on 127.0.0.1";
  o.address = "0.0.0.0:0";
  HttpServer everywhere(view, o);
  EXPECT_EQ(listening_address(everywhere.port()), "00000000") << "every interface when asked by name";
}

}  // namespace
}  // namespace boxcall::serve
