#include "sources/f1udp/udp_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/result.h"

namespace boxcall::sources::f1udp {

namespace {
TimeNs utc_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// ------------------------------------------------------------------ UdpFeed

UdpFeed::UdpFeed(const std::string& host, std::uint16_t port, std::size_t max_queue,
                 std::shared_ptr<CaptureWriter> record)
    : max_queue_(max_queue), record_(std::move(record)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw ConfigError("--listen: '" + host + "' is not an IPv4 address (e.g. 0.0.0.0 or 127.0.0.1)");
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ConfigError(std::string("cannot create a UDP socket: ") + std::strerror(errno));
  // A large receive buffer absorbs bursts (22 cars x all packet types in one frame); root may exceed rmem_max.
  int want = 16 << 20;
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);  // kernel drop counter in each recvmsg
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw ConfigError("cannot listen on udp " + host + ":" + std::to_string(port) + ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { receive_loop(); });
}

UdpFeed::~UdpFeed() {
  close();
  if (fd_ >= 0) ::close(fd_);
}

void UdpFeed::close() {
  closing_ = true;
  if (thread_.joinable()) thread_.join();
}

void UdpFeed::receive_loop() {
  std::vector<std::byte> buf(kMaxCapturedPacket + 1);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint32_t))];
  std::optional<std::chrono::steady_clock::time_point> first;
  while (!closing_) {
    pollfd pfd{fd_, POLLIN, 0};
    const int rc = ::poll(&pfd, 1, 100);
    if (rc <= 0) continue;
    sockaddr_in from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0) continue;
    const TimeNs arrival = utc_now();
    std::uint32_t drops = 0;
    bool has_drops = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        has_drops = true;
      }
    }
    Datagram d;
    const auto size = static_cast<std::size_t>(n);
    d.bytes.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(std::min(size, kMaxCapturedPacket + 0UL)));
    d.arrival_utc_ns = arrival;
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    d.origin = std::string("udp ") + ip + ":" + std::to_string(ntohs(from.sin_port));
    if (record_) {
      const auto now = std::chrono::steady_clock::now();
      if (!first) first = now;
      record_->write(std::chrono::duration<double>(now - *first).count(), d.bytes);
    }
    std::lock_guard lock(mu_);
    ++stats_.received;
    stats_.bytes += size;
    if (size > kMaxCapturedPacket || (msg.msg_flags & MSG_TRUNC)) ++stats_.truncated;
    if (has_drops) stats_.kernel_drops = drops;
    if (queue_.size() >= max_queue_) {
      ++stats_.queue_drops;
      continue;
    }
    queue_.push_back(std::move(d));
    stats_.queue_high_water = std::max(stats_.queue_high_water, queue_.size());
    cv_.notify_one();
  }
  std::lock_guard lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

PacketFeed::Status UdpFeed::next(Datagram& d, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait, [&] { return !queue_.empty() || ended_; })) return Status::Idle;
  if (queue_.empty()) return Status::End;
  d = std::move(queue_.front());
  queue_.pop_front();
  return Status::Packet;
}

UdpFeedStats UdpFeed::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// ------------------------------------------------------------------ CaptureFeed

CaptureFeed::CaptureFeed(const std::filesystem::path& path, double speed, TimeNs start_utc_ns,
                         std::shared_ptr<CaptureWriter> record)
    : reader_(path), speed_(speed), start_utc_(start_utc_ns), record_(std::move(record)) {}

PacketFeed::Status CaptureFeed::next(Datagram& d, std::chrono::milliseconds wait) {
  if (closed_) return Status::End;
  if (!has_pending_) {
    if (!reader_.next(pending_)) return Status::End;
    has_pending_ = true;
  }
  if (speed_ > 0) {
    const auto now = std::chrono::steady_clock::now();
    if (!wall_start_)
      wall_start_ = now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(pending_.seconds / speed_));
    const auto due = *wall_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(pending_.seconds / speed_));
    if (due > now) {
      std::this_thread::sleep_until(std::min(due, now + wait));
      if (std::chrono::steady_clock::now() < due) return Status::Idle;
    }
  }
  has_pending_ = false;
  d.bytes.swap(pending_.bytes);
  d.arrival_utc_ns = start_utc_ + s_to_ns(pending_.seconds);
  d.origin = "capture #" + std::to_string(reader_.read_count());
  if (record_) record_->write(pending_.seconds, d.bytes);
  return Status::Packet;
}

// ------------------------------------------------------------------ F1UdpSource

F1UdpSource::F1UdpSource(PacketFeed& feed, F1UdpSourceOptions options)
    : feed_(feed),
      o_(std::move(options)),
      decoder_(o_.decoder),
      next_status_(std::chrono::steady_clock::now() + o_.status_interval) {}

const std::string& F1UdpSource::session_id() const { return session_; }

std::optional<Input> F1UdpSource::next() {
  while (true) {
    if (ready_pos_ < ready_.size()) {
      KeyedInput& k = ready_[ready_pos_++];
      if (*k.session != session_) session_ = *k.session;
      return std::move(k.input);
    }
    ready_.clear();
    ready_pos_ = 0;
    if (ended_) return std::nullopt;
    if (o_.on_status && std::chrono::steady_clock::now() >= next_status_) {
      next_status_ = std::chrono::steady_clock::now() + o_.status_interval;
      o_.on_status();
    }
    if (!closed_ &&
        ((o_.stop && o_.stop->load()) || (o_.deadline && std::chrono::steady_clock::now() >= *o_.deadline))) {
      closed_ = true;
      feed_.close();
    }
    const auto status = feed_.next(datagram_, std::chrono::milliseconds(100));
    if (status == PacketFeed::Status::Idle) continue;
    if (status == PacketFeed::Status::End) {
      decoder_.flush(ready_);
      ended_ = true;
      continue;
    }
    ++datagrams_;
    const DecodeResult r = decoder_.decode(datagram_.bytes, datagram_.arrival_utc_ns, ready_);
    if (is_rejected(r.outcome) && o_.on_reject) o_.on_reject(datagram_, r);
  }
}

}  // namespace boxcall::sources::f1udp
