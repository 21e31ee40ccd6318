// The HTTP/1.1 server of http_server.hh: accept, read one request header,
// answer, shut down the sending side, drain until the client closes.
#include "dnsd/http/http_server.hh"

#include <netinet/in.h>

#include <array>
#include <exception>

#include <fmt/core.h>

#include "dnsd/common/log.hh"
#include "dnsd/common/uv_cast.hh"
#include "dnsd/http/http_request.hh"

namespace mirrorpool::dnsd {

namespace {

constexpr int kBacklog = 128;
constexpr size_t kReadChunk = 4096;

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace

struct HttpServer::Listener {
  uv_tcp_t tcp{};
  HttpServer* server = nullptr;  // null once closed: the callback then ignores events
};

// Freed by the close callback of whichever of its two handles closes last.
struct HttpServer::Connection {
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_write_t write{};
  uv_shutdown_t shutdown{};
  HttpServer* server = nullptr;  // null once dropped: late callbacks only release
  int open_handles = 0;
  bool responded = false;  // later bytes are read and discarded
  std::string request;
  std::string response;
  std::array<char, kReadChunk> chunk{};
};

HttpServer::HttpServer(uv_loop_t* loop, Handler handler, HttpLimits limits)
    : loop_(loop), handler_(std::move(handler)), limits_(limits) {}

HttpServer::~HttpServer() {
  close();
}

bool HttpServer::listen(const Endpoint& endpoint, std::string& error) {
  auto* listener = new Listener();
  listener->tcp.data = listener;
  if (int rc = uv_tcp_init(loop_, &listener->tcp); rc != 0) {
    delete listener;
    error = fmt::format("http {}: {}", endpoint.text, uv_strerror(rc));
    return false;
  }
  const sockaddr_storage address = endpoint.sockaddr();
  // Binding [::] must not also take the IPv4 port: 0.0.0.0 is configured on its own.
  const unsigned flags = endpoint.address.family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  int rc = uv_tcp_bind(&listener->tcp, reinterpret_cast<const sockaddr*>(&address), flags);
  if (rc == 0) {
    listener->server = this;
    rc = uv_listen(as_stream(&listener->tcp), kBacklog, [](uv_stream_t* s, int status) {
      auto* l = static_cast<Listener*>(s->data);
      if (l->server != nullptr) l->server->on_connection(l, status);
    });
  }
  sockaddr_storage bound{};
  int bound_len = sizeof(bound);
  if (rc == 0) {
    rc = uv_tcp_getsockname(&listener->tcp, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  }
  if (rc != 0) {
    listener->server = nullptr;
    uv_close(as_handle(&listener->tcp), on_listener_closed);
    error = fmt::format("http {}: {}", endpoint.text, uv_strerror(rc));
    return false;
  }
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listeners_.push_back(listener);
  return true;
}

void HttpServer::close() {
  for (Listener* l : listeners_) {
    l->server = nullptr;
    uv_close(as_handle(&l->tcp), on_listener_closed);
  }
  listeners_.clear();
  while (!connections_.empty()) drop(*connections_.begin());
}

void HttpServer::on_listener_closed(uv_handle_t* handle) {
  delete static_cast<Listener*>(handle->data);
}

void HttpServer::on_closed(uv_handle_t* handle) {
  auto* conn = static_cast<Connection*>(handle->data);
  if (--conn->open_handles == 0) delete conn;
}

void HttpServer::on_timeout(uv_timer_t* timer) {
  auto* conn = static_cast<Connection*>(timer->data);
  if (conn->server != nullptr) conn->server->drop(conn);
}

// (Re)starts the connection's one deadline; not reset by traffic.
bool HttpServer::start_timer(Connection* conn) {
  return uv_timer_start(&conn->timer, on_timeout, static_cast<uint64_t>(limits_.timeout.count()),
                        0) == 0;
}

void HttpServer::on_connection(Listener* listener, int status) {
  // A failed accept (EMFILE and the like) leaves the listener usable.
  if (status != 0) return;
  auto* conn = new Connection();
  conn->tcp.data = conn;
  conn->timer.data = conn;
  // Cannot fail for a plain TCP handle (only bad flags make it fail); were it
  // to, the connection would stay unaccepted and libuv would stop polling
  // this listener.
  if (uv_tcp_init(loop_, &conn->tcp) != 0) {
    delete conn;
    return;
  }
  conn->open_handles = 1;
  if (uv_timer_init(loop_, &conn->timer) != 0) {
    uv_close(as_handle(&conn->tcp), on_closed);
    return;
  }
  conn->open_handles = 2;
  // Over the limit the connection is still accepted, so that it leaves the
  // kernel's queue, and closed at once.
  if (uv_accept(as_stream(&listener->tcp), as_stream(&conn->tcp)) != 0 ||
      connections_.size() >= limits_.max_connections) {
    uv_close(as_handle(&conn->tcp), on_closed);
    uv_close(as_handle(&conn->timer), on_closed);
    return;
  }
  conn->server = this;
  connections_.insert(conn);
  auto on_alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* c = static_cast<Connection*>(h->data);
    *buf = uv_buf_init(c->chunk.data(), static_cast<unsigned>(c->chunk.size()));
  };
  auto on_data = [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
    auto* c = static_cast<Connection*>(s->data);
    if (c->server != nullptr) c->server->on_read(c, nread);
  };
  if (!start_timer(conn) || uv_read_start(as_stream(&conn->tcp), on_alloc, on_data) != 0) {
    drop(conn);
  }
}

void HttpServer::on_read(Connection* conn, ssize_t nread) {
  // EOF or an error: before the response the request is abandoned, after it
  // the client has read everything and closed.
  if (nread < 0) {
    drop(conn);
    return;
  }
  if (nread == 0 || conn->responded) return;
  conn->request.append(conn->chunk.data(), static_cast<size_t>(nread));
  handle_request(conn);
}

void HttpServer::handle_request(Connection* conn) {
  const HttpRequestHead parsed = parse_http_request(conn->request, limits_.max_header_bytes);
  if (parsed.state == HttpRequestHead::State::incomplete) return;
  if (parsed.state == HttpRequestHead::State::error) {
    respond_error(conn, parsed.error_status);
    return;
  }
  const std::string_view path = parsed.path;
  const bool head = parsed.method == "HEAD";
  HttpResponse response;
  try {
    response = handler_(parsed.method, path);
  } catch (const std::exception& e) {
    log(LogLevel::error, "http {}: {}", path, e.what());
    response = HttpResponse{500, "text/plain; charset=utf-8", "Internal Server Error\n"};
  }
  // The handler may have closed the server, and with it this connection.
  if (conn->server == nullptr) return;
  // Header injection through a handler's content type would be a bug; refuse it.
  const bool valid = response.status >= 200 && response.status <= 599 &&
                     response.content_type.find_first_of("\r\n") == std::string::npos;
  if (!valid) {
    respond_error(conn, 500);
    return;
  }
  respond(conn, response.status, response.content_type, response.body, head);
}

void HttpServer::respond(Connection* conn, int status, std::string_view content_type,
                         std::string_view body, bool head) {
  conn->responded = true;
  conn->request = std::string();
  conn->response = fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
  if (status == 405) conn->response += "Allow: GET, HEAD\r\n";
  conn->response += fmt::format(
      "Content-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: "
      "close\r\n\r\n",
      content_type, body.size());
  if (!head) conn->response += body;
  // The deadline starts again for the response: a client that does not read
  // it is dropped after one more timeout.
  uv_buf_t buf = uv_buf_init(conn->response.data(), static_cast<unsigned>(conn->response.size()));
  auto on_written = [](uv_write_t* w, int status) {
    auto* c = static_cast<Connection*>(w->handle->data);
    if (c->server == nullptr) return;
    // After the last byte, send FIN but keep reading until the client
    // closes: closing with unread request bytes would send RST, which can
    // destroy the response before the client has read it.
    auto on_shutdown = [](uv_shutdown_t* sd, int st) {
      auto* cc = static_cast<Connection*>(sd->handle->data);
      if (cc->server != nullptr && st != 0) cc->server->drop(cc);
    };
    if (status != 0 || uv_shutdown(&c->shutdown, as_stream(&c->tcp), on_shutdown) != 0) {
      c->server->drop(c);
    }
  };
  if (!start_timer(conn) ||
      uv_write(&conn->write, as_stream(&conn->tcp), &buf, 1, on_written) != 0) {
    drop(conn);
  }
}

void HttpServer::respond_error(Connection* conn, int status) {
  respond(conn, status, "text/plain; charset=utf-8", fmt::format("{}\n", reason_phrase(status)),
          false);
}

void HttpServer::drop(Connection* conn) {
  connections_.erase(conn);
  conn->server = nullptr;
  uv_close(as_handle(&conn->tcp), on_closed);
  uv_close(as_handle(&conn->timer), on_closed);
}

}  // namespace mirrorpool::dnsd
