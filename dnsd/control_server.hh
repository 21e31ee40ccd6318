// The control socket (SPEC §6): a unix stream socket speaking one JSON request
// line and one JSON response line per connection, protocol version 1. Lives on
// the daemon's main loop; every method and callback runs on that thread. It
// checks each request against the schema (control_schema.hh) and knows
// nothing else of the commands: a Handler decides what each request means.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <sys/types.h>
#include <uv.h>

#include <nlohmann/json.hpp>

#include "dnsd/control_schema.hh"

namespace mirrorpool::dnsd {

struct ControlRequest {
  ControlCall call;  // checked against the schema
  uid_t uid = 0;     // the caller, from SO_PEERCRED
  pid_t pid = 0;
  std::string who() const;  // "uid 0 (root)", recorded with every change
};

class ControlServer {
 public:
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
  void close();

 private:
  struct Connection;
  void on_connection();
  void on_read(Connection* conn, ssize_t nread);
  void finish(Connection* conn, const nlohmann::json& response);
  static void close_connection(Connection* conn);

  uv_loop_t* loop_;
  Handler handler_;
  uv_pipe_t pipe_{};
  bool listening_ = false;
  std::string path_;
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
