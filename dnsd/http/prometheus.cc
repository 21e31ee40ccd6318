// Prometheus text exposition format 0.0.4 (prometheus.hh): escaping, number
// formatting and the histogram accumulator.
#include "dnsd/http/prometheus.hh"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

namespace mirrorpool::dnsd {

namespace {

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Label names may not contain ':' and names starting "__" are reserved.
bool is_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    out += fmt::format("{}", value);
  }
}

}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds.begin(), upper_bounds.end()),
      cells_(std::make_unique<Cells>(upper_bounds.size() + 1)) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i] <= upper_bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  // Bucket i counts values <= upper_bounds_[i]; the last one is +Inf.
  const auto bucket = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  // Single writer: a load and a store avoid the locked instructions of fetch_add.
  auto& cell = cells_->buckets[bucket];
  cell.store(cell.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  cells_->sum.store(cells_->sum.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

Histogram::Reading Histogram::read() const {
  Reading reading;
  reading.upper_bounds = upper_bounds_;
  reading.cumulative.reserve(cells_->buckets.size());
  uint64_t total = 0;
  for (const auto& cell : cells_->buckets) {
    total += cell.load(std::memory_order_relaxed);
    reading.cumulative.push_back(total);
  }
  reading.sum = cells_->sum.load(std::memory_order_relaxed);
  return reading;
}

void MetricsWriter::counter(std::string_view name, std::string_view help) {
  begin_family(Kind::counter, name, help);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help) {
  begin_family(Kind::gauge, name, help);
}

void MetricsWriter::histogram(std::string_view name, std::string_view help) {
  begin_family(Kind::histogram, name, help);
}

void MetricsWriter::begin_family(Kind kind, std::string_view name, std::string_view help) {
  if (!is_metric_name(name)) {
    throw std::logic_error(fmt::format("invalid metric name \"{}\"", name));
  }
  if (std::find(families_.begin(), families_.end(), name) != families_.end()) {
    throw std::logic_error(fmt::format("metric family {} written twice", name));
  }
  families_.emplace_back(name);
  family_ = name;
  kind_ = kind;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += kind == Kind::counter ? " counter\n" : kind == Kind::gauge ? " gauge\n" : " histogram\n";
}

void MetricsWriter::check_scalar_family() const {
  if (kind_ != Kind::counter && kind_ != Kind::gauge) {
    throw std::logic_error("a value sample needs a counter or gauge family first");
  }
}

void MetricsWriter::write_series(std::string_view suffix, Labels labels, const Label* extra) {
  const auto items = labels.items();
  // Checked before anything is written, so that a refused sample leaves no
  // half line behind.
  for (const Label& label : items) {
    if (!is_label_name(label.name)) {
      throw std::logic_error(fmt::format("invalid label name \"{}\"", label.name));
    }
  }
  out_ += family_;
  out_ += suffix;
  if (!items.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto append = [&](const Label& label) {
      if (!first) out_ += ',';
      first = false;
      out_ += label.name;
      out_ += "=\"";
      append_escaped(out_, label.value, true);
      out_ += '"';
    };
    for (const Label& label : items) append(label);
    if (extra != nullptr) append(*extra);
    out_ += '}';
  }
  out_ += ' ';
}

void MetricsWriter::write_sample(Labels labels, double value) {
  check_scalar_family();
  write_series("", labels, nullptr);
  append_double(out_, value);
  out_ += '\n';
}

void MetricsWriter::write_sample(Labels labels, int64_t value) {
  check_scalar_family();
  write_series("", labels, nullptr);
  out_ += fmt::format("{}\n", value);
}

void MetricsWriter::write_sample(Labels labels, uint64_t value) {
  check_scalar_family();
  write_series("", labels, nullptr);
  out_ += fmt::format("{}\n", value);
}

void MetricsWriter::sample(Labels labels, const Histogram& histogram) {
  sample(labels, histogram.read());
}

void MetricsWriter::sample(Labels labels, const Histogram::Reading& reading) {
  if (kind_ != Kind::histogram) {
    throw std::logic_error("a histogram sample needs a histogram family first");
  }
  for (const Label& label : labels.items()) {
    if (label.name == "le") throw std::logic_error("label \"le\" is reserved in a histogram");
  }
  std::string bound;
  for (size_t i = 0; i < reading.cumulative.size(); ++i) {
    bound.clear();
    append_double(bound, i < reading.upper_bounds.size() ? reading.upper_bounds[i]
                                                         : std::numeric_limits<double>::infinity());
    const Label le{"le", bound};
    write_series("_bucket", labels, &le);
    out_ += fmt::format("{}\n", reading.cumulative[i]);
  }
  write_series("_sum", labels, nullptr);
  append_double(out_, reading.sum);
  out_ += '\n';
  write_series("_count", labels, nullptr);
  out_ += fmt::format("{}\n", reading.count());
}

}  // namespace mirrorpool::dnsd
