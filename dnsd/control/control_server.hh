// The control socket (mirrorpoolctl(8)): a unix stream socket speaking one JSON request
// line and one JSON response line per connection, protocol version 1. Lives on
// the daemon's main loop; every method and callback runs on that thread. It
// checks each request against the schema (control_schema.hh) and knows
// nothing else of the commands: a Handler decides what each request means.
// Clients are bounded in number, in what they send and in how long their
// reply may wait to be read, so no client can stop or bloat the daemon.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <sys/types.h>
#include <uv.h>

#include <nlohmann/json.hpp>

#include "dnsd/control/control_schema.hh"

namespace mirrorpool::dnsd {

struct ControlRequest {
  ControlCall call;  // checked against the schema
  uid_t uid = 0;     // the caller, from SO_PEERCRED
  pid_t pid = 0;
  std::string who() const;  // "uid 0 (root)", recorded with every change
};

class ControlServer {
 public:
  // A request line longer than this is refused.
  static constexpr size_t kMaxRequest = 64 * 1024;
  // A client that connects and says nothing is dropped after this long.
  static constexpr std::chrono::milliseconds kRequestTimeout{5000};
  // A client must have read its reply this long after it was queued, or it is
  // dropped and the reply freed: clients that never read cannot hold memory.
  static constexpr std::chrono::milliseconds kReplyTimeout{5000};
  // A larger reply is replaced by an error (history stops far below it).
  static constexpr size_t kMaxReply = 16 * 1024 * 1024;
  // More simultaneous clients are accepted and closed at once, so the listen
  // backlog never fills with stuck clients.
  static constexpr size_t kMaxConnections = 64;

  using Reply = std::function<void(nlohmann::json response)>;
  // Must call reply exactly once, now or later (a probe may take seconds).
  using Handler = std::function<void(const ControlRequest& request, Reply reply)>;

  ControlServer(uv_loop_t* loop, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket at `path` (replacing a stale one), mode 0660. When
  // `owner_uid`/`owner_gid` are not -1 the socket is chowned to them, so the
  // account the daemon drops to (and its group) can still use it.
  bool listen(const std::string& path, uid_t owner_uid, gid_t owner_gid, std::string& error);
  // Stops listening and closes every client; a reply that comes later is
  // dropped. The loop must run once more before the server is destroyed.
  void close();

  size_t connections() const { return connections_.size(); }

 private:
  struct Connection;
  void on_connection();
  void refuse();
  void on_read(Connection* conn, ssize_t nread);
  void finish(Connection* conn, const nlohmann::json& response);
  void start_timer(Connection* conn, std::chrono::milliseconds after);
  void on_timeout(Connection* conn);
  void close_connection(Connection* conn);
  void forget(Connection* conn);

  uv_loop_t* loop_;
  Handler handler_;
  uv_pipe_t pipe_{};
  bool listening_ = false;
  std::string path_;
  std::set<Connection*> connections_;  // open or closing, until freed
  bool full_logged_ = false;           // since connections_ last had room
};

// One request line (without its newline) from `caller`, answered as the
// server answers it: a line the schema refuses gets its error here, a valid
// one goes to handler with caller.call filled in. The control fuzz target
// drives the daemon's handler through this too.
void answer_control_line(std::string_view line, ControlRequest caller,
                         const ControlServer::Handler& handler, const ControlServer::Reply& reply);

// Builders for the response shapes every command uses.
nlohmann::json control_ok(nlohmann::json result = nlohmann::json::object());
nlohmann::json control_error(const std::string& message, nlohmann::json details = nullptr);

}  // namespace mirrorpool::dnsd
