#include "dnsd/control/control_server.hh"

#include <cerrno>
#include <cstring>

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/core.h>

#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"

namespace mirrorpool::dnsd {

namespace {

// Whether a live server listens on the unix socket at path.
bool accepts_connections(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return false;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return live;
}

}  // namespace

struct ControlServer::Connection {
  ControlServer* server = nullptr;
  uv_pipe_t pipe{};
  uv_timer_t timer{};  // the request timeout, then the reply timeout
  uv_write_t write{};
  std::string in;
  std::string out;  // the reply, kept until written or the client is dropped
  ControlRequest caller;
  int open_handles = 2;
  bool answered = false;
  bool closing = false;
  // Outlives the connection when the handler replies late: the reply then
  // finds the connection gone and drops the answer.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

std::string ControlRequest::who() const {
  const passwd* pw = getpwuid(uid);
  return pw ? fmt::format("uid {} ({})", uid, pw->pw_name) : fmt::format("uid {}", uid);
}

nlohmann::json control_ok(nlohmann::json result) {
  using namespace response_field;
  return {{kVersion, kControlProtocolVersion}, {kOk, true}, {kResult, std::move(result)}};
}

nlohmann::json control_error(const std::string& message, nlohmann::json details) {
  using namespace response_field;
  nlohmann::json r = {{kVersion, kControlProtocolVersion}, {kOk, false}, {kError, message}};
  if (!details.is_null()) r[kDetails] = std::move(details);
  return r;
}

void answer_control_line(std::string_view line, ControlRequest caller,
                         const ControlServer::Handler& handler, const ControlServer::Reply& reply) {
  std::string error;
  auto call = parse_control_request(line, error);
  if (!call) {
    reply(control_error(error));
    return;
  }
  caller.call = std::move(*call);
  handler(caller, reply);
}

ControlServer::ControlServer(uv_loop_t* loop, Handler handler)
    : loop_(loop), handler_(std::move(handler)) {}

ControlServer::~ControlServer() = default;

bool ControlServer::listen(const std::string& path, uid_t owner_uid, gid_t owner_gid,
                           std::string& error) {
  // A socket file left by a crashed daemon would make bind fail, so it is
  // replaced; one that still accepts connections belongs to a live daemon
  // (on another state_dir: the state lock catches the same one), whose
  // operators would lose it.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    if (accepts_connections(path)) {
      error = fmt::format("control socket {} is in use by another process (a second mirrorpoold?)",
                          path);
      return false;
    }
    unlink(path.c_str());
  }
  uv_pipe_init(loop_, &pipe_, 0);
  pipe_.data = this;
  listening_ = true;
  int rc = uv_pipe_bind(&pipe_, path.c_str());
  if (rc == 0) {
    rc = uv_listen(as_stream(&pipe_), 16, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<ControlServer*>(s->data)->on_connection();
    });
  }
  if (rc != 0) {
    error = fmt::format("control socket {}: {}", path, uv_strerror(rc));
    return false;
  }
  path_ = path;
  if (chmod(path.c_str(), 0660) != 0 ||
      ((owner_uid != static_cast<uid_t>(-1) || owner_gid != static_cast<gid_t>(-1)) &&
       chown(path.c_str(), owner_uid, owner_gid) != 0)) {
    error = fmt::format("control socket {}: {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

void ControlServer::close() {
  if (!listening_) return;
  listening_ = false;
  uv_close(as_handle(&pipe_), nullptr);
  if (!path_.empty()) unlink(path_.c_str());
  for (Connection* conn : connections_) close_connection(conn);
}

void ControlServer::on_connection() {
  if (connections_.size() >= kMaxConnections) {
    refuse();
    return;
  }
  auto* conn = new Connection();
  connections_.insert(conn);
  conn->server = this;
  conn->pipe.data = conn;
  conn->timer.data = conn;
  conn->write.data = conn;
  uv_pipe_init(loop_, &conn->pipe, 0);
  uv_timer_init(loop_, &conn->timer);
  if (uv_accept(as_stream(&pipe_), as_stream(&conn->pipe)) != 0) {
    close_connection(conn);
    return;
  }
  uv_os_fd_t fd = -1;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (uv_fileno(as_handle(&conn->pipe), &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    close_connection(conn);
    return;
  }
  conn->caller.uid = cred.uid;
  conn->caller.pid = cred.pid;
  start_timer(conn, kRequestTimeout);
  uv_read_start(
      as_stream(&conn->pipe),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(s->data);
        if (nread > 0) c->in.append(buf->base, static_cast<size_t>(nread));
        delete[] buf->base;
        c->server->on_read(c, nread);
      });
}

// Accepts a client beyond kMaxConnections only to tell it why and close it:
// one non-blocking write into the fresh socket's empty buffer, no waiting.
void ControlServer::refuse() {
  auto* pipe = new uv_pipe_t();
  uv_pipe_init(loop_, pipe, 0);
  auto* client = as_stream(pipe);
  if (uv_accept(as_stream(&pipe_), client) == 0) {
    std::string line = control_error(fmt::format("too many control clients ({}); try again later",
                                                 kMaxConnections))
                           .dump() +
                       "\n";
    const uv_buf_t buf = uv_buf_init(line.data(), static_cast<unsigned>(line.size()));
    uv_try_write(client, &buf, 1);
  }
  uv_close(as_handle(client), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
  // Once per episode, not once per refused client.
  if (!full_logged_) {
    log(LogLevel::warning, "control: {} clients connected; refusing more until one leaves",
        kMaxConnections);
    full_logged_ = true;
  }
}

void ControlServer::on_read(Connection* conn, ssize_t nread) {
  if (conn->answered) return;
  const auto newline = conn->in.find('\n');
  if (newline == std::string::npos && nread >= 0 && conn->in.size() <= kMaxRequest) return;
  uv_read_stop(as_stream(&conn->pipe));
  uv_timer_stop(&conn->timer);
  if (newline == std::string::npos && nread < 0) {
    close_connection(conn);  // gone without a request
    return;
  }
  conn->answered = true;
  if (newline == std::string::npos || newline > kMaxRequest) {
    finish(conn, control_error(fmt::format("request longer than {} bytes", kMaxRequest)));
    return;
  }
  // Moved out: the request is not kept while its reply is pending.
  conn->in.resize(newline);
  const std::string line = std::move(conn->in);
  std::weak_ptr<bool> alive = conn->alive;
  answer_control_line(line, conn->caller, handler_, [conn, alive](nlohmann::json response) {
    if (alive.expired()) return;
    conn->server->finish(conn, response);
  });
}

void ControlServer::finish(Connection* conn, const nlohmann::json& response) {
  // replace: a probe's text may hold bytes that are not UTF-8, on which a
  // strict dump would throw.
  conn->out = response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (conn->out.size() > kMaxReply) {
    log(LogLevel::warning, "control: a {}-byte reply to {} replaced by an error", conn->out.size(),
        conn->caller.who());
    conn->out = control_error(fmt::format("the reply would be {} bytes, more than the {} allowed",
                                          conn->out.size(), kMaxReply))
                    .dump();
  }
  conn->out += '\n';
  uv_buf_t buf = uv_buf_init(conn->out.data(), static_cast<unsigned>(conn->out.size()));
  const int rc = uv_write(&conn->write, as_stream(&conn->pipe), &buf, 1, [](uv_write_t* req, int) {
    auto* c = static_cast<Connection*>(req->data);
    c->server->close_connection(c);
  });
  if (rc != 0) {
    close_connection(conn);
    return;
  }
  start_timer(conn, kReplyTimeout);
}

void ControlServer::start_timer(Connection* conn, std::chrono::milliseconds after) {
  // The loop's clock was read before this callback began, and building a
  // large reply can take a while: the client's time starts now.
  uv_update_time(loop_);
  uv_timer_start(
      &conn->timer,
      [](uv_timer_t* t) {
        auto* c = static_cast<Connection*>(t->data);
        c->server->on_timeout(c);
      },
      static_cast<uint64_t>(after.count()), 0);
}

void ControlServer::on_timeout(Connection* conn) {
  if (conn->out.empty()) {
    log(LogLevel::debug, "control: dropped {} (pid {}): no request line within {} ms",
        conn->caller.who(), conn->caller.pid, kRequestTimeout.count());
  } else {
    log(LogLevel::warning,
        "control: dropped {} (pid {}): its {}-byte reply was not read within {} ms",
        conn->caller.who(), conn->caller.pid, conn->out.size(), kReplyTimeout.count());
  }
  close_connection(conn);
}

void ControlServer::close_connection(Connection* conn) {
  if (conn->closing) return;
  conn->closing = true;
  conn->alive.reset();
  auto on_closed = [](uv_handle_t* h) {
    auto* c = static_cast<Connection*>(h->data);
    if (--c->open_handles == 0) c->server->forget(c);
  };
  uv_close(as_handle(&conn->timer), on_closed);
  uv_close(as_handle(&conn->pipe), on_closed);
}

void ControlServer::forget(Connection* conn) {
  connections_.erase(conn);
  delete conn;
  full_logged_ = false;  // there is room again: a refusal after this is news
}

}  // namespace mirrorpool::dnsd
