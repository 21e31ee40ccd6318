// A minimal HTTP/1.1 server for /metrics and /status.json on a libuv loop.
// One request per connection (answered with `Connection: close`), GET and HEAD
// only, no bodies, no TLS, no keep-alive: scrapers and curl need nothing more,
// and every connection is bounded in bytes, time and number.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "dnsd/config/endpoint.hh"

namespace mirrorpool::dnsd {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;  // dropped on the wire for HEAD; Content-Length still counts it
};

struct HttpLimits {
  // From accept to a complete request header, and again from the response to
  // its last byte: not reset by traffic, so a client trickling bytes cannot
  // hold a connection longer than twice this.
  std::chrono::milliseconds timeout{5000};
  // Connections beyond this are accepted and closed at once.
  size_t max_connections = 64;
  // A request line and headers larger than this get 431.
  size_t max_header_bytes = 8192;
};

// Every member, and the handler, runs on the loop's thread. Handles live on
// the heap and are freed by their close callbacks, so the server may be
// destroyed at any time on that thread; the loop must run once more afterwards
// to release the memory.
class HttpServer {
 public:
  // Called for GET and HEAD with the path without its query string; answers
  // 404 itself for unknown paths. An exception becomes a 500.
  using Handler = std::function<HttpResponse(std::string_view method, std::string_view path)>;

  HttpServer(uv_loop_t* loop, Handler handler, HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on `endpoint` (IPv4 or IPv6; an IPv6 socket takes IPv6
  // only). May be called once per endpoint. False with `error` set on failure,
  // and nothing is left open for that endpoint.
  bool listen(const Endpoint& endpoint, std::string& error);
  // Stops listening and drops every open connection. Idempotent.
  void close();

  // The port the most recent successful listen() bound to (useful with port
  // 0), or 0 if none.
  uint16_t port() const { return port_; }
  size_t connection_count() const { return connections_.size(); }

 private:
  struct Listener;
  struct Connection;

  static void on_listener_closed(uv_handle_t* handle);
  static void on_closed(uv_handle_t* handle);
  static void on_timeout(uv_timer_t* timer);
  bool start_timer(Connection* conn);
  void on_connection(Listener* listener, int status);
  void on_read(Connection* conn, ssize_t nread);
  void handle_request(Connection* conn);
  void respond(Connection* conn, int status, std::string_view content_type, std::string_view body,
               bool head);
  void respond_error(Connection* conn, int status);
  void drop(Connection* conn);

  uv_loop_t* loop_;
  Handler handler_;
  HttpLimits limits_;
  uint16_t port_ = 0;
  std::vector<Listener*> listeners_;
  std::unordered_set<Connection*> connections_;
};

}  // namespace mirrorpool::dnsd
