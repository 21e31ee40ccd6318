// truncate_to_question (responder.hh): a response cut back to its header
// and question, with TC set, when the datagram it was written for is smaller.
#include <cstring>

#include "dnsd/query/responder.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

size_t truncate_to_question(std::span<uint8_t> response) noexcept {
  Header header;
  if (!parse_header(response, header) || !header.qr()) return 0;
  size_t end = kHeaderSize;
  Question question;
  if (header.qdcount >= 1 && !parse_question(response, end, question)) return 0;
  uint8_t patch[10] = {};
  set16(patch, static_cast<uint16_t>(header.flags | kFlagTc));
  set16(patch + 2, header.qdcount >= 1 ? 1 : 0);
  std::memcpy(response.data() + 2, patch, sizeof patch);
  return end;
}

}  // namespace mirrorpool::dnsd
