// SerialBook (serials.hh): the serial rule and its JSON file.
#include "dnsd/primary/serials.hh"

#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "dnsd/common/atomic_file.hh"

namespace mirrorpool::dnsd {

bool serial_gt(uint32_t a, uint32_t b) noexcept {
  constexpr uint32_t kHalf = uint32_t{1} << 31;
  return (a < b && b - a > kHalf) || (a > b && a - b < kHalf);
}

SerialBook::SerialBook(std::string path) : path_(std::move(path)) {}

bool SerialBook::load(std::string& error) {
  entries_.clear();
  std::string text;
  bool missing = false;
  if (!read_whole_file(path_, text, missing, error)) return missing;
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("zones") ||
      !doc["zones"].is_object()) {
    error = path_ + ": not a serials file";
    return false;
  }
  for (const auto& [zone, value] : doc["zones"].items()) {
    if (!value.is_object() || !value.contains("serial") || !value["serial"].is_number_unsigned() ||
        !value.contains("digest") || !value["digest"].is_string() ||
        value["serial"].get<uint64_t>() > UINT32_MAX) {
      entries_.clear();
      error = path_ + ": bad entry for zone " + zone;
      return false;
    }
    entries_[zone] = {value["serial"].get<uint32_t>(), value["digest"].get<std::string>()};
  }
  return true;
}

uint32_t SerialBook::next(const std::string& zone, uint32_t file_serial, std::string_view digest) {
  auto it = entries_.find(zone);
  if (it == entries_.end()) {
    entries_[zone] = {file_serial, std::string(digest)};
    dirty_ = true;
    return file_serial;
  }
  Entry& entry = it->second;
  uint32_t serial = entry.digest == digest ? entry.serial : entry.serial + 1;
  if (serial_gt(file_serial, serial)) serial = file_serial;
  if (serial != entry.serial || entry.digest != digest) {
    entry = {serial, std::string(digest)};
    dirty_ = true;
  }
  return serial;
}

bool SerialBook::save(std::string& error) {
  if (!dirty_) return true;
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = dir.string() + ": " + ec.message();
    return false;
  }
  nlohmann::json zones = nlohmann::json::object();
  for (const auto& [zone, entry] : entries_) {
    zones[zone] = {{"serial", entry.serial}, {"digest", entry.digest}};
  }
  const nlohmann::json doc = {{"version", 1}, {"zones", zones}};
  if (!write_file_atomically(path_, doc.dump(2) + "\n", error)) return false;
  dirty_ = false;
  return true;
}

}  // namespace mirrorpool::dnsd
