// The process_* families every Prometheus client library exports (CPU,
// memory, file descriptors, start time), read from /proc/self at scrape time
// so dashboards and alerts written for other daemons work unchanged.
#pragma once

#include "dnsd/http/prometheus.hh"

namespace mirrorpool::dnsd {

// Writes the families it can read; one it cannot (no /proc) is left out
// rather than shown as 0.
void write_process_metrics(MetricsWriter& w);

}  // namespace mirrorpool::dnsd
