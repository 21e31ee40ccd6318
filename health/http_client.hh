// HTTP(S) fetches on a libuv loop through libcurl's multi interface (the
// "multi-uv" pattern: curl tells us which sockets and timeouts to watch, uv
// tells curl when they fire). Knows sockets, TLS and time; nothing of DNS
// beyond what a URL needs.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <uv.h>

#include "health/uv_timer.hh"

namespace mirrorpool::health {

struct CurlLibrary;

struct HttpRequest {
  std::string url;
  // "HOST:PORT:ADDRESS:PORT" pins the connection to one mirror address while
  // the URL keeps the pool's host for the Host header and SNI; empty = the
  // URL's host is resolved normally (the freshness reference).
  std::string connect_to;
  std::string ca_file;  // empty = system store
  // Set: a POST of this JSON text (an alert's webhook) instead of a GET.
  std::optional<std::string> post_json;
  std::chrono::milliseconds timeout{2000};
  std::size_t max_body = std::size_t{1} << 20;
  // Also collect an HttpTrace (mirrorpoolctl check); probe rounds leave it
  // off and pay nothing for it.
  bool trace = false;
};

// What one fetch went through, for an operator reading it step by step.
// Times count from the start of the fetch; a step that was never reached
// is nullopt, so the first missing one is where the fetch failed.
struct HttpTrace {
  std::string remote;  // "ADDRESS:PORT" curl connected to (or tried)
  bool connected = false;
  // curl times the connection only once its TLS handshake completed too.
  std::optional<std::chrono::microseconds> connect_time;
  std::optional<std::chrono::microseconds> tls_done;  // https only
  std::optional<std::chrono::microseconds> first_byte;
  std::chrono::microseconds total{0};
  // https only, from the handshake itself: known even when the response
  // never comes, and the leaf is recorded even when it fails verification.
  std::string tls_version;  // "TLSv1.3"
  std::string tls_cipher;
  std::optional<long> verify_result;  // X509_V_OK (0) or an X509_V_ERR_* code
  std::string verify_text;            // OpenSSL's wording of verify_result
  bool has_leaf = false;
  std::string leaf_subject;  // RFC 2253, e.g. "CN=mirror.test"
  std::string leaf_issuer;
  std::string leaf_not_after;  // "2025-03-01 12:00:00 UTC"
  bool body_cut = false;       // the body was longer than max_body
};

struct HttpResponse {
  // False when no HTTP status was received; `error` then says why, already
  // worded as a probe reason ("timeout after 2000ms", "connect: Connection
  // refused", "tls: SSL certificate problem: certificate has expired").
  bool transferred = false;
  std::string error;
  long status = 0;
  std::string body;  // at most max_body bytes; longer bodies are cut there
  // https only: the leaf's notAfter, recorded in the handshake whether or not
  // the chain verified.
  std::optional<std::chrono::system_clock::time_point> tls_expiry;
  std::chrono::milliseconds latency{0};
  std::optional<HttpTrace> trace;  // set exactly when the request asked for it
};

class HttpClient {
 public:
  using Done = std::function<void(HttpResponse)>;

  // Loads nothing yet: libcurl is loaded and set up by the first fetch.
  explicit HttpClient(uv_loop_t* loop);
  // Cancels every fetch still running; their callbacks never run.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a GET. `done` runs exactly once, later, on the loop thread, unless
  // cancel_all() comes first. Never follows redirects, never uses a proxy.
  // When libcurl cannot be loaded or set up, every fetch fails with an
  // "internal: ..." error saying why.
  void fetch(const HttpRequest& request, Done done);

  void cancel_all();

 private:
  struct Transfer;
  struct Poll;
  static size_t on_body(char* data, size_t size, size_t count, void* user);
  static int on_socket(void* easy, int fd, int what, void* self, void* socket_data);
  static int on_timer(void* multi, long timeout_ms, void* self);
  void on_poll(Poll* poll, int status, int events);
  void socket_action(int fd, int flags);
  void drain_finished();
  // Loads libcurl and makes the multi handle, once; throws std::runtime_error.
  void start_multi();
  void fail_later(HttpResponse response, Done done);
  void close_poll(Poll* poll);

  uv_loop_t* loop_;
  // Both null until the first fetch. multi_ is a CURLM*, kept opaque so users
  // need not include curl.h.
  const CurlLibrary* curl_ = nullptr;
  void* multi_ = nullptr;
  UvTimer timer_;
  std::set<Transfer*> transfers_;
  std::set<Poll*> polls_;
};

}  // namespace mirrorpool::health
