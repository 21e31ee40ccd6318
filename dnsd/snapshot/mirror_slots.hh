// A stable small number for every (pool, mirror) ever served, so that the
// serving threads can count answers per mirror in a fixed array of counters
// (Stats::mirror_answers) whatever the snapshot: a slot is never reused while
// the daemon runs, so a count never moves to another mirror across a reload.
// Used on the main loop thread only (snapshot building, metrics).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mirrorpool::dnsd {

class MirrorSlots {
 public:
  // The counters per thread; the last slot counts every mirror past the others.
  static constexpr uint16_t kSlots = 1024;

  uint16_t slot(const std::string& pool, const std::string& mirror) {
    const auto [it, added] =
        by_name_.try_emplace(std::make_pair(pool, mirror), static_cast<uint16_t>(names_.size()));
    if (added) {
      if (names_.size() + 1 < kSlots) {
        names_.emplace_back(pool, mirror);
      } else {
        it->second = kSlots - 1;
      }
    }
    return it->second;
  }

  // (pool, mirror) of each slot below kSlots - 1 that was given out.
  const std::vector<std::pair<std::string, std::string>>& names() const { return names_; }

 private:
  std::map<std::pair<std::string, std::string>, uint16_t> by_name_;
  std::vector<std::pair<std::string, std::string>> names_;
};

}  // namespace mirrorpool::dnsd
