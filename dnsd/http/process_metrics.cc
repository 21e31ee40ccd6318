#include "dnsd/http/process_metrics.hh"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

namespace mirrorpool::dnsd {

namespace {

// The fields of /proc/self/stat (proc(5)) that the families need.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // after boot
  uint64_t virtual_bytes = 0;
  uint64_t resident_pages = 0;
};

std::optional<ProcStat> read_proc_stat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: the fields
  // after it start behind the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string skip;
  ProcStat stat;
  // Fields 3..13, then utime (14), stime (15), 16..21, starttime (22),
  // vsize (23), rss (24).
  for (int i = 3; i <= 13; ++i) fields >> skip;
  fields >> stat.utime_ticks >> stat.stime_ticks;
  for (int i = 16; i <= 21; ++i) fields >> skip;
  fields >> stat.start_ticks >> stat.virtual_bytes >> stat.resident_pages;
  if (!fields) return std::nullopt;
  return stat;
}

// Boot time as Unix seconds, the "btime" line of /proc/stat.
std::optional<uint64_t> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  uint64_t value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<uint64_t> open_fds() {
  std::error_code ec;
  uint64_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  if (ec) return std::nullopt;
  // The iterator's own descriptor is counted too.
  return count > 0 ? count - 1 : 0;
}

}  // namespace

void write_process_metrics(MetricsWriter& w) {
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  if (const auto stat = read_proc_stat(); stat && ticks > 0 && page > 0) {
    w.counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.");
    w.sample(static_cast<double>(stat->utime_ticks + stat->stime_ticks) /
             static_cast<double>(ticks));
    w.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
    w.sample(stat->virtual_bytes);
    w.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
    w.sample(stat->resident_pages * static_cast<uint64_t>(page));
    if (const auto boot = boot_time()) {
      w.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch.");
      w.sample(static_cast<double>(*boot) +
               static_cast<double>(stat->start_ticks) / static_cast<double>(ticks));
    }
  }
  if (const auto fds = open_fds()) {
    w.gauge("process_open_fds", "Open file descriptors.");
    w.sample(*fds);
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    w.gauge("process_max_fds", "The limit on open file descriptors.");
    w.sample(static_cast<uint64_t>(limit.rlim_cur));
  }
}

}  // namespace mirrorpool::dnsd
