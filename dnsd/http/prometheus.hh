// Prometheus text exposition format 0.0.4: a writer that renders one scrape
// into a string, and a fixed-bucket histogram to feed it. No registry and no
// global state: the caller walks its own data and writes the families.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mirrorpool::dnsd {

// Upper bounds in seconds for probe and request latencies: Prometheus' own
// defaults, from 5 ms (a mirror next door) to 10 s (past any sane timeout).
inline constexpr double kLatencyBucketsSeconds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};

// Observations counted into fixed buckets, plus their sum. One writer thread
// calls observe(); any thread may read() at the same time (relaxed atomics, no
// lock, as Stats does). Movable while no other thread uses it; not copyable.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing, else
  // std::invalid_argument; the +Inf bucket is implicit.
  explicit Histogram(std::span<const double> upper_bounds = kLatencyBucketsSeconds);

  // Cost: a binary search over the bounds and two relaxed stores. NaN is
  // ignored so that one bad value cannot poison the sum for good.
  void observe(double value) noexcept;
  template <typename Rep, typename Period>
  void observe(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  struct Reading {
    std::span<const double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;      // upper_bounds.size() + 1 entries, last is +Inf
    double sum = 0;
    uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  // The count is derived from the buckets so that a reading taken during an
  // observe() still has `_count` equal to the +Inf bucket.
  Reading read() const;

 private:
  struct Cells {
    explicit Cells(size_t n) : buckets(n) {}
    std::vector<std::atomic<uint64_t>> buckets;  // not cumulative; last is +Inf
    std::atomic<double> sum{0};
  };
  std::vector<double> upper_bounds_;
  std::unique_ptr<Cells> cells_;
};

struct Label {
  std::string_view name;
  std::string_view value;  // any bytes; escaped on output
};

// The labels of one sample, borrowed for the duration of the call: written as
// `{{"pool", pool}, {"mirror", id}}` or passed as a span built by the caller.
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<Label> labels) : labels_(labels.begin(), labels.size()) {}
  Labels(std::span<const Label> labels) : labels_(labels) {}
  std::span<const Label> items() const { return labels_; }

 private:
  std::span<const Label> labels_;
};

// Renders families in the order they are started. Every sample belongs to the
// most recently started family, so each family's samples are contiguous and
// its HELP and TYPE lines appear exactly once. Misuse (a sample before any
// family or of the wrong kind, a family name used twice, an invalid metric or
// label name, a histogram label named "le") throws std::logic_error: those are
// bugs in the caller, and the HTTP server turns them into a 500. One thread.
class MetricsWriter {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  void counter(std::string_view name, std::string_view help);
  void gauge(std::string_view name, std::string_view help);
  void histogram(std::string_view name, std::string_view help);

  // One sample of the current counter or gauge family. Integers (and bool)
  // are written exactly; floating point as the shortest text that reads back
  // to the same value, with +Inf, -Inf and NaN spelled as Prometheus does.
  template <typename T>
  requires std::is_arithmetic_v<T>
  void sample(Labels labels, T value) {
    if constexpr (std::floating_point<T>) {
      write_sample(labels, static_cast<double>(value));
    } else if constexpr (std::is_signed_v<T>) {
      write_sample(labels, static_cast<int64_t>(value));
    } else {
      write_sample(labels, static_cast<uint64_t>(value));
    }
  }
  template <typename T>
  requires std::is_arithmetic_v<T>
  void sample(T value) { sample(Labels{}, value); }

  // One series of the current histogram family: its cumulative `_bucket`
  // lines (label `le`), `_sum` and `_count`.
  void sample(Labels labels, const Histogram& histogram);
  // Counts kept elsewhere (e.g. by the prober), already cumulative.
  void sample(Labels labels, const Histogram::Reading& reading);
  void sample(const Histogram& histogram) { sample(Labels{}, histogram); }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  enum class Kind { none, counter, gauge, histogram };
  void begin_family(Kind kind, std::string_view name, std::string_view help);
  void check_scalar_family() const;
  void write_series(std::string_view suffix, Labels labels, const Label* extra);
  void write_sample(Labels labels, double value);
  void write_sample(Labels labels, int64_t value);
  void write_sample(Labels labels, uint64_t value);

  std::string out_;
  std::string family_;
  Kind kind_ = Kind::none;
  std::vector<std::string> families_;  // every name started, to refuse a repeat
};

}  // namespace mirrorpool::dnsd
