#include "health/curl_library.hh"

#include <dlfcn.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace mirrorpool::health {

namespace {

// The soname of Debian's libcurl4, the OpenSSL build (the GnuTLS one is
// libcurl-gnutls.so.4); the ABI the headers describe.
constexpr const char* kSoname = "libcurl.so.4";

template <typename Fn>
void resolve(void* handle, const char* name, Fn& fn) {
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) throw std::runtime_error(fmt::format("{}: no {}", kSoname, name));
  fn = reinterpret_cast<Fn>(symbol);
}

CurlLibrary open_library() {
  // Never closed: curl keeps global state for the life of the process.
  void* handle = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(fmt::format("cannot load {}", dlerror()));
  CurlLibrary lib{};
  resolve(handle, "curl_version_info", lib.version_info);
  resolve(handle, "curl_global_init", lib.global_init);
  resolve(handle, "curl_easy_init", lib.easy_init);
  resolve(handle, "curl_easy_cleanup", lib.easy_cleanup);
  resolve(handle, "curl_easy_setopt", lib.easy_setopt);
  resolve(handle, "curl_easy_getinfo", lib.easy_getinfo);
  resolve(handle, "curl_easy_strerror", lib.easy_strerror);
  resolve(handle, "curl_multi_init", lib.multi_init);
  resolve(handle, "curl_multi_cleanup", lib.multi_cleanup);
  resolve(handle, "curl_multi_setopt", lib.multi_setopt);
  resolve(handle, "curl_multi_add_handle", lib.multi_add_handle);
  resolve(handle, "curl_multi_remove_handle", lib.multi_remove_handle);
  resolve(handle, "curl_multi_assign", lib.multi_assign);
  resolve(handle, "curl_multi_socket_action", lib.multi_socket_action);
  resolve(handle, "curl_multi_info_read", lib.multi_info_read);
  resolve(handle, "curl_multi_strerror", lib.multi_strerror);
  resolve(handle, "curl_slist_append", lib.slist_append);
  resolve(handle, "curl_slist_free_all", lib.slist_free_all);

  const curl_version_info_data* info = lib.version_info(CURLVERSION_NOW);
  const std::string_view tls = info && info->ssl_version ? info->ssl_version : "";
  if (!tls.starts_with("OpenSSL/")) {
    throw std::runtime_error(
        fmt::format("{} uses {}, not OpenSSL", kSoname, tls.empty() ? "no TLS library" : tls));
  }
  const CURLcode rc = lib.global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    throw std::runtime_error(fmt::format("curl_global_init: {}", lib.easy_strerror(rc)));
  }
  return lib;
}

}  // namespace

const CurlLibrary& curl_library() {
  static std::mutex mutex;
  static std::optional<CurlLibrary> library;
  std::lock_guard lock(mutex);
  if (!library) library = open_library();
  return *library;
}

}  // namespace mirrorpool::health
