// NOTIFY (RFC 1996) sender: tells each configured secondary of a zone that
// its serial changed, over UDP, retrying with doubling delays until the
// secondary answers or the tries run out. Main loop only.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <uv.h>

#include "dnsd/config/endpoint.hh"
#include "dnsd/primary/transfer_state.hh"
#include "dnsd/wire/tsig.hh"

namespace mirrorpool::dnsd {

class Notifier {
 public:
  // Workers take up a new snapshot asynchronously; the first NOTIFY waits this
  // long so that the secondary's SOA query already sees the new serial.
  static constexpr uint64_t kFirstDelayMs = 100;
  static constexpr uint64_t kFirstRetryMs = 1000;  // then doubling
  static constexpr unsigned kTries = 5;

  explicit Notifier(uv_loop_t* loop);
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Announces the zone's new SOA (serial inside) to every target, signed with
  // `key` when given. Replaces whatever NOTIFY of that zone is still retried.
  void notify(const std::string& zone, const ZoneRecord& soa, const std::vector<Endpoint>& targets,
              const std::optional<TsigKeyMaterial>& key);

  // Closes the sockets and the timer; pending NOTIFYs are dropped.
  void close();

  // Totals for /metrics (mirrorpool_notify_total): tries sent, answers
  // received, and NOTIFYs dropped after kTries unanswered tries.
  uint64_t sent() const { return sent_; }
  uint64_t answered() const { return answered_; }
  uint64_t given_up() const { return given_up_; }

 private:
  struct Socket {
    uv_udp_t handle{};
    Notifier* owner = nullptr;
    bool open = false;
  };
  struct Pending {
    std::string zone;  // presentation form
    uint32_t serial = 0;
    Endpoint target;
    std::vector<uint8_t> message;  // unsigned; signed afresh at each try
    std::optional<TsigKeyMaterial> key;
    uint16_t id = 0;
    unsigned tries = 0;
    uint64_t due_ms = 0;
  };

  void open_socket(Socket& socket, const char* any);
  void on_timer();
  void on_response(const uint8_t* data, size_t size, const sockaddr* from);
  void send(Pending& pending);
  void schedule();

  uv_loop_t* loop_;
  uv_timer_t timer_{};
  Socket v4_;
  Socket v6_;
  std::vector<Pending> pending_;
  std::mt19937 ids_{std::random_device{}()};
  uint8_t buffer_[4096] = {};
  uint64_t sent_ = 0;
  uint64_t answered_ = 0;
  uint64_t given_up_ = 0;
};

}  // namespace mirrorpool::dnsd
