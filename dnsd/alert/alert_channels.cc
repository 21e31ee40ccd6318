#include "dnsd/alert/alert_channels.hh"

#include <signal.h>

#include <fmt/format.h>

#include "dnsd/common/uv_cast.hh"
#include "health/uv_timer.hh"

namespace mirrorpool::dnsd {

// One program: its process, the pipe to its stdin and its time limit. Freed
// once all three handles are closed.
struct AlertChannels::Run {
  AlertChannels* owner = nullptr;
  uv_process_t process{};
  uv_pipe_t input_pipe{};
  uv_timer_t limit{};
  uv_write_t write{};
  std::string input;
  Done done;
  int open_handles = 0;
  bool killed = false;

  static void on_closed(uv_handle_t* h) {
    auto* run = static_cast<Run*>(h->data);
    if (--run->open_handles == 0) delete run;
  }
  void close(uv_handle_t* h) {
    if (!uv_is_closing(h)) uv_close(h, &on_closed);
  }
  void close_all() {
    for (uv_handle_t* h : {as_handle(&process), as_handle(&input_pipe), as_handle(&limit)}) {
      close(h);
    }
  }
};

// One webhook message and how many tries it has had.
struct AlertChannels::Post {
  std::string url;
  std::string json;
  Done done;
  size_t tries = 0;
  std::unique_ptr<health::UvTimer> wait;
  std::string last;  // what the last try got
};

AlertChannels::AlertChannels(uv_loop_t* loop) : loop_(loop), http_(loop) {}

AlertChannels::~AlertChannels() {
  close();
}

void AlertChannels::close() {
  for (Run* run : runs_) {
    run->done = nullptr;
    if (!run->killed) uv_process_kill(&run->process, SIGKILL);
    run->close_all();
  }
  runs_.clear();
  for (const auto& post : posts_) {
    post->done = nullptr;
    post->wait.reset();
  }
  posts_.clear();
  http_.cancel_all();
}

void AlertChannels::run(std::vector<std::string> argv, std::string input, Done done) {
  auto* run = new Run;
  run->owner = this;
  run->input = std::move(input);
  run->done = std::move(done);
  run->process.data = run->input_pipe.data = run->limit.data = run;
  uv_pipe_init(loop_, &run->input_pipe, 0);
  uv_timer_init(loop_, &run->limit);
  run->open_handles = 2;

  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[0].data.stream = as_stream(&run->input_pipe);
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t options{};
  options.file = args[0];
  options.args = args.data();
  options.stdio = stdio;
  options.stdio_count = 3;
  options.exit_cb = [](uv_process_t* p, int64_t status, int signal) {
    auto* run = static_cast<Run*>(p->data);
    run->owner->runs_.erase(run);
    const bool ok = status == 0 && signal == 0;
    const std::string detail = run->killed ? fmt::format("killed after {} s", kCommandLimit.count())
                               : signal != 0 ? fmt::format("killed by signal {}", signal)
                                             : fmt::format("exit {}", status);
    if (run->done) run->done(ok, detail);
    run->close_all();
  };
  const int rc = uv_spawn(loop_, &run->process, &options);
  if (rc != 0) {
    // uv_spawn leaves the process handle to be closed anyway.
    ++run->open_handles;
    Done fail = std::move(run->done);
    run->close_all();
    if (fail) fail(false, fmt::format("cannot run {}: {}", argv[0], uv_strerror(rc)));
    return;
  }
  ++run->open_handles;
  runs_.insert(run);
  uv_timer_start(
      &run->limit,
      [](uv_timer_t* t) {
        auto* run = static_cast<Run*>(t->data);
        run->killed = true;
        uv_process_kill(&run->process, SIGKILL);
      },
      static_cast<uint64_t>(std::chrono::milliseconds(kCommandLimit).count()), 0);
  // A program that exits without reading its input makes the write fail
  // (EPIPE: SIGPIPE is ignored); its exit status still tells the story.
  uv_buf_t buf = uv_buf_init(run->input.data(), static_cast<unsigned>(run->input.size()));
  const int wrc =
      uv_write(&run->write, as_stream(&run->input_pipe), &buf, 1, [](uv_write_t* w, int) {
        // Closing the pipe is the end of the input.
        auto* run = static_cast<Run*>(w->handle->data);
        run->close(as_handle(&run->input_pipe));
      });
  if (wrc != 0) run->close(as_handle(&run->input_pipe));
}

void AlertChannels::post(std::string url, std::string json, Done done) {
  auto post = std::make_shared<Post>();
  post->url = std::move(url);
  post->json = std::move(json);
  post->done = std::move(done);
  posts_.insert(post);
  try_post(post);
}

void AlertChannels::try_post(std::shared_ptr<Post> post) {
  health::HttpRequest request;
  request.url = post->url;
  request.post_json = post->json;
  request.timeout = kPostTimeout;
  request.max_body = 4096;
  ++post->tries;
  http_.fetch(request, [this, post](health::HttpResponse response) {
    const bool ok = response.transferred && response.status >= 200 && response.status < 300;
    post->last = response.transferred ? fmt::format("http {}", response.status) : response.error;
    const size_t waits = std::size(kRetryWaits);
    if (ok || post->tries > waits) {
      posts_.erase(post);
      if (post->done) {
        post->done(ok, fmt::format("{} after {} tr{}", post->last, post->tries,
                                   post->tries == 1 ? "y" : "ies"));
      }
      return;
    }
    post->wait = std::make_unique<health::UvTimer>(loop_);
    post->wait->start(std::chrono::milliseconds(kRetryWaits[post->tries - 1]),
                      [this, post] { try_post(post); });
  });
}

}  // namespace mirrorpool::dnsd
