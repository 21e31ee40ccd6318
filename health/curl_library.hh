// libcurl, opened on first use instead of linked. A daemon whose pools are
// checked over TCP only never maps libcurl and the two dozen libraries it
// pulls in (GnuTLS, Kerberos, LDAP, SSH, ...: about 4.5 MiB resident, more
// than the rest of a small daemon's own data and code). gdnsd keeps its HTTP
// checker in a plugin it loads only when configured, for the same reason.
#pragma once

#include <curl/curl.h>

namespace mirrorpool::health {

// The libcurl functions the HTTP client calls, with their header's types.
struct CurlLibrary {
  decltype(&::curl_version_info) version_info;
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_setopt) multi_setopt;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_assign) multi_assign;
  decltype(&::curl_multi_socket_action) multi_socket_action;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_strerror) multi_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Opens libcurl.so.4 and runs curl_global_init, once per process; thread-safe.
// Throws std::runtime_error saying why when the library is missing, lacks a
// function, is not built on OpenSSL (the client reads OpenSSL's handshake
// state) or cannot initialise; a later call tries again.
const CurlLibrary& curl_library();

}  // namespace mirrorpool::health
