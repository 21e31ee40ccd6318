// The ways a message leaves the daemon: a program fed the message on its
// stdin (an [[alert]] command, or sendmail with a mail), and an HTTP POST
// (a webhook) retried with backoff. Nothing here waits: each delivery ends
// in its Done callback on the loop, with whether it worked and what happened.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <uv.h>

#include "health/http_client.hh"

namespace mirrorpool::dnsd {

class AlertChannels {
 public:
  // ok, and what happened: "exit 0", "killed after 30 s", "http 200 after 2 tries", ...
  using Done = std::function<void(bool ok, std::string detail)>;

  // A program gets this long to read its input and exit; then it is killed.
  static constexpr std::chrono::seconds kCommandLimit{30};
  // Webhook tries: the first at once, then after each of these waits.
  static constexpr std::chrono::seconds kRetryWaits[] = {
      std::chrono::seconds(1), std::chrono::seconds(3), std::chrono::seconds(9)};
  static constexpr std::chrono::seconds kPostTimeout{10};

  explicit AlertChannels(uv_loop_t* loop);
  // Calls close().
  ~AlertChannels();
  AlertChannels(const AlertChannels&) = delete;
  AlertChannels& operator=(const AlertChannels&) = delete;

  // Runs argv (argv[0] an absolute path) with `input` on its stdin, its
  // stdout discarded and its stderr the daemon's (the journal under systemd).
  void run(std::vector<std::string> argv, std::string input, Done done);

  // POSTs `json` to `url` (certificates verified); a 2xx answer is success.
  // Anything else is tried again after kRetryWaits.
  void post(std::string url, std::string json, Done done);

  // The daemon stops: programs still running are killed, webhook tries
  // dropped, and no Done callback runs any more.
  void close();

 private:
  struct Run;
  struct Post;
  void try_post(std::shared_ptr<Post> post);

  uv_loop_t* loop_;
  health::HttpClient http_;
  std::set<Run*> runs_;
  std::set<std::shared_ptr<Post>> posts_;
};

}  // namespace mirrorpool::dnsd
