// libcurl multi interface driven by libuv: uv_poll_t per socket curl wants
// watched, one uv timer for curl's timeout. Every curl and uv call is checked.
// libcurl is loaded by the first fetch (health/curl_library.hh).
#include "health/http_client.hh"

#include <algorithm>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "health/curl_library.hh"

namespace mirrorpool::health {

namespace {

CURLM* multi_of(void* multi) {
  return static_cast<CURLM*>(multi);
}

}  // namespace

// One fetch in flight: the easy handle and everything its callbacks write to.
struct HttpClient::Transfer {
  explicit Transfer(const CurlLibrary& library) : curl(library) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy) curl.easy_cleanup(easy);
    curl.slist_free_all(connect_to);
    curl.slist_free_all(headers);
  }

  const CurlLibrary& curl;
  CURL* easy = nullptr;
  curl_slist* connect_to = nullptr;
  curl_slist* headers = nullptr;
  Done done;
  std::size_t max_body = 0;
  std::chrono::milliseconds timeout{0};
  HttpResponse response;
  bool tls = false;
  bool truncated = false;
  char error[CURL_ERROR_SIZE] = {};
};

// One socket curl asked us to watch.
struct HttpClient::Poll {
  uv_poll_t handle{};
  int fd = -1;
  HttpClient* owner = nullptr;
};

// Bodies are only searched for a substring or compared with a reference, so
// the first max_body bytes are enough; stopping there bounds memory when a
// mirror serves something huge at the probe path.
size_t HttpClient::on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  auto& body = transfer->response.body;
  const size_t room = transfer->max_body - std::min(transfer->max_body, body.size());
  body.append(data, std::min(n, room));
  if (n > room) {
    transfer->truncated = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return n;
}

namespace {

std::optional<std::chrono::system_clock::time_point> not_after(const X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string time_text(const ASN1_TIME* time) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "?";
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The response an https transfer's handshake callbacks write to. curl makes
// one SSL_CTX per connection and every probe has its own connection, so the
// context's app data can point at the transfer's response.
HttpResponse* response_of(const SSL* ssl) {
  return static_cast<HttpResponse*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// Records the leaf as the chain is verified and leaves the verdict alone: an
// expired or untrusted certificate is exactly what the operator wants to see
// (and its expiry stays in the metrics).
int on_verify(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  HttpResponse* response = ssl ? response_of(ssl) : nullptr;
  const X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (!response || !leaf || response->tls_expiry) return preverify_ok;
  response->tls_expiry = not_after(leaf);
  if (HttpTrace* trace = response->trace ? &*response->trace : nullptr) {
    trace->has_leaf = true;
    trace->leaf_subject = name_text(X509_get_subject_name(leaf));
    trace->leaf_issuer = name_text(X509_get_issuer_name(leaf));
    trace->leaf_not_after = time_text(X509_get0_notAfter(leaf));
  }
  return preverify_ok;
}

void on_tls_info(const SSL* ssl, int where, int /*ret*/) {
  if (!(where & SSL_CB_HANDSHAKE_DONE)) return;
  HttpResponse* response = response_of(ssl);
  if (response && response->trace) {
    response->trace->tls_version = SSL_get_version(ssl);
    response->trace->tls_cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
  }
}

// CURLOPT_SSL_CTX_FUNCTION of https transfers: runs after curl has set the
// context up, so its verify mode is kept and only observed.
CURLcode on_ssl_ctx(CURL* /*easy*/, void* ssl_ctx, void* user) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (SSL_CTX_set_app_data(ctx, user) != 1) return CURLE_SSL_CONNECT_ERROR;
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), &on_verify);
  SSL_CTX_set_info_callback(ctx, &on_tls_info);
  return CURLE_OK;
}

// curl reports 0 for a phase it never reached. A later phase reached proves
// the earlier one was, even if it took less than a microsecond.
std::optional<std::chrono::microseconds> phase(const CurlLibrary& curl, CURL* easy, CURLINFO info,
                                               bool reached_later) {
  curl_off_t us = 0;
  if (curl.easy_getinfo(easy, info, &us) != CURLE_OK) return std::nullopt;
  if (us <= 0 && !reached_later) return std::nullopt;
  return std::chrono::microseconds(us);
}

void fill_trace(const CurlLibrary& curl, HttpTrace& trace, CURL* easy, bool tls, long status) {
  curl_off_t total = 0;
  if (curl.easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK)
    trace.total = std::chrono::microseconds(total);
  char* ip = nullptr;
  long port = 0;
  if (curl.easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && ip[0] &&
      curl.easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK) {
    const bool v6 = std::string_view(ip).find(':') != std::string_view::npos;
    trace.remote = v6 ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
  }
  trace.first_byte = phase(curl, easy, CURLINFO_STARTTRANSFER_TIME_T, status > 0);
  if (tls)
    trace.tls_done = phase(curl, easy, CURLINFO_APPCONNECT_TIME_T, trace.first_byte.has_value());
  trace.connect_time = phase(curl, easy, CURLINFO_CONNECT_TIME_T,
                             trace.tls_done.has_value() || trace.first_byte.has_value());
  // Counts the TCP connection even when the handshake on it failed or hung.
  long connects = 0;
  trace.connected =
      trace.connect_time.has_value() ||
      (curl.easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0);
  long verify = 0;
  if (tls && trace.connected &&
      curl.easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK) {
    trace.verify_result = verify;
    trace.verify_text = X509_verify_cert_error_string(verify);
  }
}

// Words a curl failure the way the rest of the prober reports failures.
std::string failure_reason(const CurlLibrary& curl, CURLcode code, CURL* easy, const char* error,
                           std::chrono::milliseconds timeout) {
  std::string detail = error[0] ? error : curl.easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return fmt::format("timeout after {}ms", timeout.count());
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      if (curl.easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0)
        return fmt::format("connect: {}",
                           std::generic_category().message(static_cast<int>(os_errno)));
      return fmt::format("connect: {}", detail);
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return fmt::format("resolve: {}", detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
      return fmt::format("tls: {}", detail);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      return fmt::format("http: {}", detail);
    default:
      return detail;
  }
}

}  // namespace

HttpClient::HttpClient(uv_loop_t* loop) : loop_(loop), timer_(loop) {}

HttpClient::~HttpClient() {
  cancel_all();
  // Cleanup may still report sockets to forget (cached connections).
  if (multi_) curl_->multi_cleanup(multi_of(multi_));
  for (Poll* poll : std::set<Poll*>(polls_)) close_poll(poll);
}

void HttpClient::start_multi() {
  if (multi_) return;
  const CurlLibrary& curl = curl_library();
  CURLM* multi = curl.multi_init();
  if (!multi) throw std::runtime_error("curl_multi_init failed");
  CURLMcode rc = curl.multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &on_socket);
  if (rc == CURLM_OK) rc = curl.multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  if (rc == CURLM_OK) rc = curl.multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &on_timer);
  if (rc == CURLM_OK) rc = curl.multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  if (rc != CURLM_OK) {
    curl.multi_cleanup(multi);
    throw std::runtime_error(fmt::format("curl_multi_setopt: {}", curl.multi_strerror(rc)));
  }
  curl_ = &curl;
  multi_ = multi;
}

void HttpClient::cancel_all() {
  auto transfers = std::move(transfers_);
  transfers_.clear();
  for (Transfer* transfer : transfers) {
    // Removing can only fail for a handle that is not in this multi handle,
    // which would be a bug here; the easy handle is freed either way.
    curl_->multi_remove_handle(multi_of(multi_), transfer->easy);
    delete transfer;
  }
  timer_.stop();
}

void HttpClient::fetch(const HttpRequest& request, Done done) {
  try {
    start_multi();
  } catch (const std::runtime_error& e) {
    HttpResponse response;
    response.error = fmt::format("internal: {}", e.what());
    if (request.trace) response.trace.emplace();
    fail_later(std::move(response), std::move(done));
    return;
  }
  const CurlLibrary& curl = *curl_;
  auto transfer = std::make_unique<Transfer>(curl);
  transfer->done = std::move(done);
  transfer->max_body = request.max_body;
  transfer->timeout = request.timeout;
  transfer->tls = request.url.starts_with("https:");
  if (request.trace) transfer->response.trace.emplace();
  transfer->easy = curl.easy_init();
  CURL* easy = transfer->easy;

  CURLcode rc = easy ? CURLE_OK : CURLE_OUT_OF_MEMORY;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl.easy_setopt(easy, option, value);
  };
  const long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_PRIVATE, static_cast<void*>(transfer.get()));
  set(CURLOPT_ERRORBUFFER, transfer->error);
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(transfer.get()));
  // Signals would disturb the daemon; timeouts are curl's own timers here.
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, timeout_ms);
  set(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // A redirect is a status like any other: the probe judges what the mirror
  // itself answers, never somewhere else.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  // The environment of a daemon must not route probes through a proxy.
  set(CURLOPT_PROXY, "");
  set(CURLOPT_NOPROXY, "*");
  // Each probe opens its own connection, or a dead listener would hide
  // behind a cached connection.
  set(CURLOPT_FRESH_CONNECT, 1L);
  set(CURLOPT_FORBID_REUSE, 1L);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  set(CURLOPT_USERAGENT, "mirrorpool-health/" MIRRORPOOL_VERSION);
  if (!request.ca_file.empty()) set(CURLOPT_CAINFO, request.ca_file.c_str());
  if (transfer->tls) {
    // Every probe verifies the certificate the mirror shows now: a resumed
    // session would skip verification, and the expiry with it.
    set(CURLOPT_SSL_SESSIONID_CACHE, 0L);
    set(CURLOPT_SSL_CTX_FUNCTION, &on_ssl_ctx);
    set(CURLOPT_SSL_CTX_DATA, static_cast<void*>(&transfer->response));
  }
  if (request.post_json) {
    // COPYPOSTFIELDS: curl keeps its own copy, the request may go away.
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.post_json->size()));
    set(CURLOPT_COPYPOSTFIELDS, request.post_json->c_str());
    transfer->headers = curl.slist_append(nullptr, "Content-Type: application/json");
    if (!transfer->headers) rc = CURLE_OUT_OF_MEMORY;
    set(CURLOPT_HTTPHEADER, transfer->headers);
  }
  if (!request.connect_to.empty()) {
    transfer->connect_to = curl.slist_append(nullptr, request.connect_to.c_str());
    if (!transfer->connect_to) rc = CURLE_OUT_OF_MEMORY;
    set(CURLOPT_CONNECT_TO, transfer->connect_to);
  }

  if (rc != CURLE_OK) {
    // Report through the same asynchronous path as any failure.
    transfer->response.error = fmt::format("internal: {}", curl.easy_strerror(rc));
  } else {
    const CURLMcode mrc = curl.multi_add_handle(multi_of(multi_), easy);
    if (mrc == CURLM_OK) {
      transfers_.insert(transfer.release());
      return;
    }
    transfer->response.error = fmt::format("internal: {}", curl.multi_strerror(mrc));
  }
  auto response = std::move(transfer->response);
  auto fn = std::move(transfer->done);
  transfer.reset();  // frees the easy handle now rather than when the failure is delivered
  fail_later(std::move(response), std::move(fn));
}

void HttpClient::fail_later(HttpResponse response, Done done) {
  auto shared =
      std::make_shared<std::pair<HttpResponse, Done>>(std::move(response), std::move(done));
  // A private timer delivers the failure after the caller has returned.
  auto deliver = std::make_shared<UvTimer>(loop_);
  deliver->start(std::chrono::milliseconds(0), [deliver, shared]() mutable {
    if (shared->second) shared->second(std::move(shared->first));
    deliver.reset();
  });
}

int HttpClient::on_socket(void* /*easy*/, int fd, int what, void* self, void* socket_data) {
  auto* client = static_cast<HttpClient*>(self);
  auto* poll = static_cast<Poll*>(socket_data);
  if (what == CURL_POLL_REMOVE) {
    if (poll) {
      client->curl_->multi_assign(multi_of(client->multi_), fd, nullptr);
      client->close_poll(poll);
    }
    return 0;
  }
  if (!poll) {
    poll = new Poll;
    poll->fd = fd;
    poll->owner = client;
    poll->handle.data = poll;
    if (uv_poll_init_socket(client->loop_, &poll->handle, fd) < 0) {
      delete poll;
      return -1;  // curl fails this transfer
    }
    client->polls_.insert(poll);
    if (client->curl_->multi_assign(multi_of(client->multi_), fd, poll) != CURLM_OK) {
      client->close_poll(poll);
      return -1;
    }
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  const int rc = uv_poll_start(&poll->handle, events, [](uv_poll_t* handle, int status, int ev) {
    auto* poll = static_cast<Poll*>(handle->data);
    poll->owner->on_poll(poll, status, ev);
  });
  return rc < 0 ? -1 : 0;
}

int HttpClient::on_timer(void* /*multi*/, long timeout_ms, void* self) {
  auto* client = static_cast<HttpClient*>(self);
  if (timeout_ms < 0) {
    client->timer_.stop();
    return 0;
  }
  // curl must not be re-entered from its own callback: act from the loop.
  client->timer_.start(std::chrono::milliseconds(timeout_ms),
                       [client] { client->socket_action(CURL_SOCKET_TIMEOUT, 0); });
  return 0;
}

void HttpClient::on_poll(Poll* poll, int status, int events) {
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  socket_action(poll->fd, flags);
}

void HttpClient::socket_action(int fd, int flags) {
  int running = 0;
  // An error here means the multi handle itself is broken; the transfers it
  // holds still end through their own timeouts and are reported below.
  curl_->multi_socket_action(multi_of(multi_), fd, flags, &running);
  drain_finished();
}

void HttpClient::drain_finished() {
  int left = 0;
  while (CURLMsg* msg = curl_->multi_info_read(multi_of(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    char* priv = nullptr;
    if (curl_->easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv) continue;
    auto* transfer = reinterpret_cast<Transfer*>(priv);
    std::unique_ptr<Transfer> owned(transfer);
    transfers_.erase(transfer);
    curl_->multi_remove_handle(multi_of(multi_), easy);

    HttpResponse& response = transfer->response;
    long status = 0;
    if (curl_->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
      response.status = status;
    }
    curl_off_t total_us = 0;
    if (curl_->easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK) {
      response.latency = std::chrono::milliseconds(total_us / 1000);
    }
    const bool cut_short = code == CURLE_WRITE_ERROR && transfer->truncated;
    response.transferred = (code == CURLE_OK || cut_short) && status > 0;
    if (!response.transferred)
      response.error = failure_reason(*curl_, code, easy, transfer->error, transfer->timeout);
    if (response.trace) {
      fill_trace(*curl_, *response.trace, easy, transfer->tls, response.status);
      response.trace->body_cut = cut_short;
    }
    auto done = std::move(transfer->done);
    if (done) done(std::move(response));
  }
}

void HttpClient::close_poll(Poll* poll) {
  polls_.erase(poll);
  // uv_poll_stop is implied by closing; the fd itself belongs to curl.
  uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle),
           [](uv_handle_t* handle) { delete static_cast<Poll*>(handle->data); });
}

}  // namespace mirrorpool::health
