// MetricsWriter and Histogram: exact text of the exposition format 0.0.4,
// and the same text read back by the reference parser.
#include "dnsd/http/prometheus.hh"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using mirrorpool::dnsd::Histogram;
using mirrorpool::dnsd::Label;
using mirrorpool::dnsd::Labels;
using mirrorpool::dnsd::MetricsWriter;

TEST_CASE("counter and gauge families with labels") {
  MetricsWriter w;
  w.counter("mirrorpool_queries_total", "DNS queries answered.");
  w.sample({{"qtype", "A"}, {"rcode", "NOERROR"}}, uint64_t{42});
  w.sample({{"qtype", "AAAA"}, {"rcode", "NXDOMAIN"}}, 7u);
  w.gauge("mirrorpool_mirror_up", "1 if the address is healthy.");
  w.sample({{"mirror", "m1"}, {"address", "192.0.2.1"}}, true);
  w.sample({{"mirror", "m1"}, {"address", "2001:db8::1"}}, false);
  w.gauge("mirrorpool_tls_days_left", "Days until the certificate expires.");
  w.sample(-3);
  w.gauge("mirrorpool_last_check_timestamp_seconds", "Unix time of the last probe.");
  w.sample(1700000000.25);
  CHECK(w.text() ==
        "# HELP mirrorpool_queries_total DNS queries answered.\n"
        "# TYPE mirrorpool_queries_total counter\n"
        "mirrorpool_queries_total{qtype=\"A\",rcode=\"NOERROR\"} 42\n"
        "mirrorpool_queries_total{qtype=\"AAAA\",rcode=\"NXDOMAIN\"} 7\n"
        "# HELP mirrorpool_mirror_up 1 if the address is healthy.\n"
        "# TYPE mirrorpool_mirror_up gauge\n"
        "mirrorpool_mirror_up{mirror=\"m1\",address=\"192.0.2.1\"} 1\n"
        "mirrorpool_mirror_up{mirror=\"m1\",address=\"2001:db8::1\"} 0\n"
        "# HELP mirrorpool_tls_days_left Days until the certificate expires.\n"
        "# TYPE mirrorpool_tls_days_left gauge\n"
        "mirrorpool_tls_days_left -3\n"
        "# HELP mirrorpool_last_check_timestamp_seconds Unix time of the last probe.\n"
        "# TYPE mirrorpool_last_check_timestamp_seconds gauge\n"
        "mirrorpool_last_check_timestamp_seconds 1700000000.25\n");
}

TEST_CASE("a family without samples still has HELP and TYPE") {
  MetricsWriter w;
  w.counter("x_total", "");
  CHECK(w.text() == "# HELP x_total \n# TYPE x_total counter\n");
}

TEST_CASE("label values and help text are escaped") {
  MetricsWriter w;
  w.gauge("g", "a \\ back\nslash \"quoted\"");
  w.sample({{"note", "say \"hi\"\\n\nnext"}}, 1);
  CHECK(w.text() ==
        "# HELP g a \\\\ back\\nslash \"quoted\"\n"
        "# TYPE g gauge\n"
        "g{note=\"say \\\"hi\\\"\\\\n\\nnext\"} 1\n");
}

TEST_CASE("labels from a span built at run time") {
  MetricsWriter w;
  w.gauge("g", "h");
  std::vector<Label> labels{{"pool", "dl.pool.example."}};
  w.sample(Labels(labels), 2.5);
  CHECK(w.text() == "# HELP g h\n# TYPE g gauge\ng{pool=\"dl.pool.example.\"} 2.5\n");
}

TEST_CASE("special floating point values") {
  MetricsWriter w;
  w.gauge("g", "h");
  w.sample({{"v", "inf"}}, std::numeric_limits<double>::infinity());
  w.sample({{"v", "-inf"}}, -std::numeric_limits<double>::infinity());
  w.sample({{"v", "nan"}}, std::nan(""));
  w.sample({{"v", "small"}}, 1e-9);
  CHECK(w.text() ==
        "# HELP g h\n# TYPE g gauge\n"
        "g{v=\"inf\"} +Inf\n"
        "g{v=\"-inf\"} -Inf\n"
        "g{v=\"nan\"} NaN\n"
        "g{v=\"small\"} 1e-09\n");
}

TEST_CASE("histogram: cumulative buckets, sum and count") {
  // Binary fractions, so that the sum is exact.
  const double bounds[] = {0.125, 0.5, 1};
  Histogram h(bounds);
  h.observe(0.0625);
  h.observe(0.125);  // on a bound: counted in that bucket (le = less or equal)
  h.observe(0.25);
  h.observe(std::chrono::milliseconds(2500));
  h.observe(std::nan(""));  // ignored
  const Histogram::Reading r = h.read();
  CHECK(r.count() == 4);
  CHECK(r.cumulative == std::vector<uint64_t>{2, 3, 3, 4});
  CHECK(r.sum == 2.9375);

  MetricsWriter w;
  w.histogram("mirrorpool_probe_duration_seconds", "Probe latency.");
  w.sample({{"mirror", "m1"}}, h);
  w.sample(Histogram(bounds));
  CHECK(w.text() ==
        "# HELP mirrorpool_probe_duration_seconds Probe latency.\n"
        "# TYPE mirrorpool_probe_duration_seconds histogram\n"
        "mirrorpool_probe_duration_seconds_bucket{mirror=\"m1\",le=\"0.125\"} 2\n"
        "mirrorpool_probe_duration_seconds_bucket{mirror=\"m1\",le=\"0.5\"} 3\n"
        "mirrorpool_probe_duration_seconds_bucket{mirror=\"m1\",le=\"1\"} 3\n"
        "mirrorpool_probe_duration_seconds_bucket{mirror=\"m1\",le=\"+Inf\"} 4\n"
        "mirrorpool_probe_duration_seconds_sum{mirror=\"m1\"} 2.9375\n"
        "mirrorpool_probe_duration_seconds_count{mirror=\"m1\"} 4\n"
        "mirrorpool_probe_duration_seconds_bucket{le=\"0.125\"} 0\n"
        "mirrorpool_probe_duration_seconds_bucket{le=\"0.5\"} 0\n"
        "mirrorpool_probe_duration_seconds_bucket{le=\"1\"} 0\n"
        "mirrorpool_probe_duration_seconds_bucket{le=\"+Inf\"} 0\n"
        "mirrorpool_probe_duration_seconds_sum 0\n"
        "mirrorpool_probe_duration_seconds_count 0\n");
}

TEST_CASE("histogram: default latency buckets and moves") {
  Histogram h;
  h.observe(0.007);
  Histogram moved = std::move(h);
  const auto r = moved.read();
  REQUIRE(r.upper_bounds.size() == 11);
  CHECK(r.upper_bounds.front() == 0.005);
  CHECK(r.upper_bounds.back() == 10);
  CHECK(r.cumulative[0] == 0);
  CHECK(r.cumulative[1] == 1);
  CHECK(r.count() == 1);
}

TEST_CASE("histogram bounds must be finite and increasing") {
  const double unsorted[] = {1, 0.5};
  const double repeated[] = {1, 1};
  const double infinite[] = {1, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_AS(Histogram{unsorted}, std::invalid_argument);
  CHECK_THROWS_AS(Histogram{repeated}, std::invalid_argument);
  CHECK_THROWS_AS(Histogram{infinite}, std::invalid_argument);
}

TEST_CASE("misuse is refused without writing half a line") {
  MetricsWriter w;
  CHECK_THROWS_AS(w.sample(1), std::logic_error);  // no family yet
  CHECK_THROWS_AS(w.counter("9starts_with_digit", "h"), std::logic_error);
  CHECK_THROWS_AS(w.counter("has-dash", "h"), std::logic_error);
  w.counter("c_total", "h");
  CHECK_THROWS_AS(w.gauge("c_total", "again"), std::logic_error);
  CHECK_THROWS_AS(w.sample(Histogram{}), std::logic_error);
  CHECK_THROWS_AS(w.sample({{"bad-name", "v"}}, 1), std::logic_error);
  CHECK_THROWS_AS(w.sample({{"__reserved", "v"}}, 1), std::logic_error);
  w.histogram("h_seconds", "h");
  CHECK_THROWS_AS(w.sample(1.0), std::logic_error);
  CHECK_THROWS_AS(w.sample({{"le", "1"}}, Histogram{}), std::logic_error);
  CHECK(w.text() ==
        "# HELP c_total h\n# TYPE c_total counter\n"
        "# HELP h_seconds h\n# TYPE h_seconds histogram\n");
}

TEST_CASE("take() hands over the text") {
  MetricsWriter w;
  w.gauge("g", "h");
  w.sample(1);
  CHECK(w.take() == "# HELP g h\n# TYPE g gauge\ng 1\n");
  CHECK(MetricsWriter::kContentType == "text/plain; version=0.0.4; charset=utf-8");
}

namespace {

// Prints what the reference parser (Debian's python3-prometheus-client) reads
// from the file named by argv[1]: one line per family, one per sample.
constexpr const char* kReferenceParser = R"(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    print("family", f.name, f.type, json.dumps(f.documentation))
    for s in f.samples:
        print(" ", s.name, json.dumps(s.labels, sort_keys=True), repr(s.value))
)";

std::string run_reference_parser(const std::string& text) {
  char path[] = "/tmp/prometheus_test_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  char script[] = "/tmp/prometheus_parse_XXXXXX";
  const int script_fd = mkstemp(script);
  REQUIRE(script_fd >= 0);
  const std::string_view code = kReferenceParser;
  REQUIRE(write(script_fd, code.data(), code.size()) == static_cast<ssize_t>(code.size()));
  close(script_fd);
  // Debian's interpreter on purpose: the module comes from the Debian package.
  const std::string command = std::string("/usr/bin/python3 ") + script + " " + path + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  unlink(path);
  unlink(script);
  CHECK_MESSAGE(status == 0, output);
  return output;
}

}  // namespace

TEST_CASE("the reference Prometheus parser reads what the writer writes") {
  const double bounds[] = {0.5, 1};
  Histogram h(bounds);
  h.observe(0.25);
  h.observe(3.0);
  MetricsWriter w;
  w.counter("mirrorpool_state_changes_total", "State changes.\nBy \\ mirror.");
  w.sample({{"mirror", "m\"1\""}, {"note", "a\\b\nc"}}, 3u);
  w.gauge("mirrorpool_weight", "Weight.");
  w.sample({{"mirror", "m1"}}, 5);
  w.sample({{"mirror", "m2"}}, std::numeric_limits<double>::infinity());
  w.histogram("mirrorpool_probe_duration_seconds", "Latency.");
  w.sample({{"mirror", "m1"}}, h);
  CHECK(run_reference_parser(w.text()) ==
        "family mirrorpool_state_changes counter \"State changes.\\nBy \\\\ mirror.\"\n"
        "  mirrorpool_state_changes_total {\"mirror\": \"m\\\"1\\\"\", \"note\": \"a\\\\b\\nc\"} "
        "3.0\n"
        "family mirrorpool_weight gauge \"Weight.\"\n"
        "  mirrorpool_weight {\"mirror\": \"m1\"} 5.0\n"
        "  mirrorpool_weight {\"mirror\": \"m2\"} inf\n"
        "family mirrorpool_probe_duration_seconds histogram \"Latency.\"\n"
        "  mirrorpool_probe_duration_seconds_bucket {\"le\": \"0.5\", \"mirror\": \"m1\"} 1.0\n"
        "  mirrorpool_probe_duration_seconds_bucket {\"le\": \"1\", \"mirror\": \"m1\"} 1.0\n"
        "  mirrorpool_probe_duration_seconds_bucket {\"le\": \"+Inf\", \"mirror\": \"m1\"} 2.0\n"
        "  mirrorpool_probe_duration_seconds_sum {\"mirror\": \"m1\"} 3.25\n"
        "  mirrorpool_probe_duration_seconds_count {\"mirror\": \"m1\"} 2.0\n");
}
