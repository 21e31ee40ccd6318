// mirrorpool as a (hidden) primary, two stages of every publication
// (publisher.hh): before a snapshot is published it chooses the zones' serials
// (serials.hh) and attaches the transfer data (transfer_state.hh); once it is
// published it sends NOTIFY for every zone whose serial changed (notifier.hh).
// Main loop only; owned by the daemon.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "dnsd/config/config.hh"
#include "dnsd/primary/notifier.hh"
#include "dnsd/primary/serials.hh"
#include "dnsd/primary/transfer_state.hh"
#include "dnsd/snapshot/snapshot.hh"

namespace mirrorpool::dnsd {

class Primary {
 public:
  explicit Primary(uv_loop_t* loop);

  // Start-up and every reload, before the snapshot built from that config.
  // The state directory is read at the first call only.
  void configure(const Config& config);

  // The publisher's prepare stage: final serials, persisted before
  // publication, and transfer data into `snapshot`. Remembers the zones whose
  // serial changed for announce.
  void prepare(Snapshot& snapshot);

  // The publisher's announce stage, once the prepared snapshot is published:
  // NOTIFY to the secondaries of each zone prepare found changed.
  void announce();

  // NOTIFY messages sent, answered and given up on, for /metrics.
  const Notifier& notifier() const { return notifier_; }

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
  // Found by prepare, sent by announce: one per changed zone with secondaries.
  struct Announcement {
    std::string zone;  // presentation form
    ZoneRecord soa;    // with the new serial
    std::vector<Endpoint> targets;
    std::optional<TsigKeyMaterial> key;
  };
  std::vector<Announcement> announcements_;
};

}  // namespace mirrorpool::dnsd
