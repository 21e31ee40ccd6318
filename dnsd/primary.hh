// mirrorpool as a (hidden) primary: before each snapshot is published it
// chooses the zones' serials (serials.hh), attaches the transfer data
// (transfer_state.hh), and afterwards sends NOTIFY for every zone whose
// serial changed (notifier.hh). Main loop only; owned by the daemon.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "dnsd/config.hh"
#include "dnsd/notifier.hh"
#include "dnsd/serials.hh"
#include "dnsd/snapshot.hh"
#include "dnsd/transfer_state.hh"

namespace mirrorpool::dnsd {

class Primary {
 public:
  explicit Primary(uv_loop_t* loop);

  // Start-up and every reload, before the snapshot built from that config.
  // The state directory is read at the first call only.
  void configure(const Config& config);

  // The publisher's prepare step (Publisher::set_preparer): final serials,
  // persisted before publication, and transfer data into `snapshot`.
  void prepare(Snapshot& snapshot);

  void close();

 private:
  struct Zone {
    std::vector<Endpoint> notify;
    std::optional<TsigKeyMaterial> key;
    // allow_transfer or tsig is set: transfers need the zone's records.
    bool transferable = false;
  };

  std::optional<SerialBook> serials_;
  TransferHistory history_;
  Notifier notifier_;
  std::map<std::string, Zone> zones_;  // by apex, canonical wire
};

}  // namespace mirrorpool::dnsd
