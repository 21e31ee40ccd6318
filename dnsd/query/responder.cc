// The query path (see responder.hh): parse, find the zone and node, copy
// pre-encoded records into the caller's buffer. Everything lives on the stack
// or in the snapshot; nothing here allocates, locks or throws.
#include "dnsd/query/responder.hh"

#include <algorithm>
#include <cstring>

#include "dnsd/common/sampler.hh"
#include "dnsd/geo/geo_pick.hh"
#include "dnsd/query/client_place.hh"
#include "dnsd/query/compressor.hh"
#include "dnsd/query/denial.hh"
#include "dnsd/query/zone_lookup.hh"
#include "dnsd/wire/bytes.hh"
#include "dnsd/wire/wire.hh"

namespace mirrorpool::dnsd {

namespace {

// CNAME chains longer than this are cut short: they are loops or abuse.
constexpr unsigned kMaxChase = 8;
// RFC 8482 HINFO RDATA: CPU "RFC8482", OS "".
constexpr char kHinfoRdata[] = "\x07RFC8482\x00";
constexpr size_t kHinfoRdataSize = sizeof kHinfoRdata - 1;

// One response under construction.
class Response {
 public:
  Response(const Snapshot& snapshot, Rng& rng, Stats& stats, std::span<uint8_t> out,
           size_t limit) noexcept
      : snapshot_(snapshot), rng_(rng), stats_(stats), writer_(out, limit), limit_(limit) {}

  // The client to place for geo answers (its ECS option, else its address).
  void set_client(const Query& query) noexcept { query_ = &query; }

  void start(const Header& query, const Question* question, uint8_t rcode) noexcept {
    header_.id = query.id;
    header_.flags = static_cast<uint16_t>(kFlagQr | (query.flags & (0x7800 | kFlagRd)));
    rcode_ = rcode;
    for (int i = 0; i < 6; ++i) writer_.u16(0);
    if (question != nullptr) {
      // Case preserved, written uncompressed even if the query compressed it.
      writer_.bytes(question->name.view());
      writer_.u16(question->qtype);
      writer_.u16(question->qclass);
      header_.qdcount = 1;
    }
    body_start_ = writer_.position();
  }

  void set_edns(const Edns& edns, std::span<const uint8_t> cookie) noexcept {
    edns_ = edns.present;
    dnssec_ok_ = edns.dnssec_ok;
    // ECS in, ECS out (RFC 7871 7.2.1), where clients are placed at all.
    const geo::Locator* locator = snapshot_.locator();
    if (edns_ && edns.ecs.present && locator != nullptr && locator->ecs()) ecs_ = &edns.ecs;
    // NSID only to those who ask (RFC 5001 2.1).
    if (edns_ && edns.nsid) nsid_ = snapshot_.nsid();
    if (edns_) cookie_ = cookie;
    // Room for our OPT stays reserved whatever the sections need.
    if (edns_) writer_.set_limit(limit_ - opt_size());
  }

  void set_rcode(uint8_t rcode) noexcept { rcode_ = rcode; }

  // Answers a question inside the snapshot's zones; qname is canonical.
  void answer(const Question& question, const WireName& qname) noexcept {
    compressor_.add(qname.view(), kHeaderSize);
    const uint16_t qtype = question.qtype;
    if (question.qclass != kClassIn && question.qclass != kClassAny) {
      // Other classes are not served.
      rcode_ = kRcodeRefused;
      return;
    }
    const unsigned labels = qname.label_count();
    uint32_t zone_index = NameTable::kNotFound;
    for (unsigned k = labels + 1; k-- > 0;) {
      if (!snapshot_.apex_depth(k)) continue;
      const uint32_t z = snapshot_.apexes().find(qname.suffix(k));
      if (z == NameTable::kNotFound) continue;
      zone_index = z;
      // A DS record belongs to the parent side of a cut: look for a parent zone.
      if (qtype != kTypeDs || k != labels) break;
    }
    if (zone_index == NameTable::kNotFound) {
      rcode_ = kRcodeRefused;
      return;
    }
    aa_ = true;
    soa_ = &snapshot_.soa(zone_index);
    const EncodedZone& zone = snapshot_.zone(zone_index);
    // DNSSEC records only to those who ask (RFC 4035 3.1), from a signed zone.
    signed_ = dnssec_ok_ && zone.is_signed();
    answer_in_zone(zone, qname, qtype);
  }

  size_t finish() noexcept {
    if (writer_.overflow()) {
      // Only the glue of a non-referral may be dropped silently (RFC 9471
      // requires glue in a referral); otherwise the client must retry over TCP.
      if (in_additional_ && !overflow_before_additional_ && !referral_) {
        writer_.rewind(additional_start_);
        header_.arcount = 0;
      } else {
        writer_.rewind(body_start_);
        header_.ancount = header_.nscount = header_.arcount = 0;
        header_.flags |= kFlagTc;
        stats_.truncated.add();
      }
    }
    writer_.set_limit(limit_);
    if (edns_) {
      writer_.u8(0);
      writer_.u16(kTypeOpt);
      writer_.u16(static_cast<uint16_t>(snapshot_.udp_max_size()));
      writer_.u8(static_cast<uint8_t>(rcode_ >> 4));
      writer_.u8(0);  // version
      writer_.u16(dnssec_ok_ ? 0x8000 : 0);
      writer_.u16(static_cast<uint16_t>(opt_size() - kOptSize));
      // The scope of what the answer depends on: 0 unless a geo pool placed
      // the client (and so for errors, negative answers and static records).
      if (ecs_ != nullptr) writer_.client_subnet(*ecs_, scope_);
      if (!nsid_.empty()) {
        writer_.option(kEdnsOptionNsid,
                       {reinterpret_cast<const uint8_t*>(nsid_.data()), nsid_.size()});
      }
      if (!cookie_.empty()) writer_.option(kEdnsOptionCookie, cookie_);
      ++header_.arcount;
    }
    if (aa_) header_.flags |= kFlagAa;
    header_.flags |= rcode_ & 0xf;
    writer_.patch16(0, header_.id);
    writer_.patch16(2, header_.flags);
    writer_.patch16(4, header_.qdcount);
    writer_.patch16(6, header_.ancount);
    writer_.patch16(8, header_.nscount);
    writer_.patch16(10, header_.arcount);
    stats_.by_rcode[rcode_ < stats_.by_rcode.size() ? rcode_ : 0].add();
    return writer_.position();
  }

 private:
  void answer_in_zone(const EncodedZone& zone, const WireName& qname, uint16_t qtype) noexcept {
    // The name being answered: the question's, then each CNAME target's.
    const WireName* current = &qname;
    WireName target_name;
    for (unsigned step = 0;; ++step) {
      const WireName& name = *current;
      const Found found = find_in_zone(zone, name, qtype);
      if (found.match == Match::delegation) {
        // After a CNAME the chain ends at the cut: the answer so far stands.
        if (step == 0) referral(zone, found.node);
        return;
      }
      if (found.match == Match::nxdomain) {
        rcode_ = kRcodeNxDomain;
        negative(zone);
        if (signed_) deny_name(zone, name, found.node);
        return;
      }
      const EncodedNode& node = zone.nodes[found.node];
      // A wildcard answer takes the queried name as owner (RFC 4592 3.3.1).
      const std::string_view owner = name.view();
      // A pool answers A, AAAA and ANY at its name; other types there (the
      // SOA and NS of a pool at its zone's apex) come from the zone file.
      if (node.pool >= 0 && (qtype == kTypeA || qtype == kTypeAaaa || qtype == kTypeAny)) {
        pool_answer(zone, static_cast<size_t>(node.pool), owner, qtype);
        return;
      }
      if (qtype == kTypeAny) {
        if (node.rrset_begin == node.rrset_end) {
          negative(zone);
          if (signed_) deny_type(zone, name, found);
        } else if (signed_) {
          // An unsigned HINFO would not validate: one RRset of the name,
          // signed, is the other minimal answer of RFC 8482 4.1.
          write_signed(zone, node, owner, zone.rrsets[node.rrset_begin], header_.ancount);
        } else {
          hinfo(owner, zone.rrsets[node.rrset_begin].ttl);
        }
        return;
      }
      if (const EncodedRRset* rrset = zone.find(node, qtype)) {
        write_signed(zone, node, owner, *rrset, header_.ancount);
        if (signed_ && found.match == Match::wildcard) deny_wildcard_source(zone, name, found.node);
        if (qtype == kTypeNs && node.apex) glue(zone, *rrset);
        return;
      }
      const EncodedRRset* cname = zone.find(node, kTypeCname);
      if (cname == nullptr || node.delegation) {
        negative(zone);
        if (signed_) deny_type(zone, name, found);
        return;
      }
      const size_t rdata_at = write_signed(zone, node, owner, *cname, header_.ancount);
      if (signed_ && found.match == Match::wildcard) deny_wildcard_source(zone, name, found.node);
      const std::string_view target = zone.bytes(*cname).substr(kRrFixedSize);
      if (step + 1 >= kMaxChase || !target_name.assign(target) ||
          target_name.label_count() < zone.apex_labels ||
          target_name.suffix(zone.apex_labels) != zone.apex) {
        return;
      }
      current = &target_name;
      compressor_.add(target.substr(0, target_name.view().size()), rdata_at);
    }
  }

  void referral(const EncodedZone& zone, uint32_t cut) noexcept {
    aa_ = false;
    referral_ = true;
    const EncodedNode& node = zone.nodes[cut];
    const EncodedRRset* ns = zone.find(node, kTypeNs);
    write_rrset(zone, zone.node_name(cut), *ns, header_.nscount);
    if (signed_) {
      // The DS of the cut and its RRSIG, or the NSEC proving there is none
      // (RFC 4035 3.1.4).
      if (const EncodedRRset* ds = zone.find(node, kTypeDs)) {
        write_signed(zone, node, zone.node_name(cut), *ds, header_.nscount);
      } else {
        write_denial(zone, own_denial(zone, cut));
      }
    }
    glue(zone, *ns);
  }

  void pool_answer(const EncodedZone& zone, size_t pool_index, std::string_view owner,
                   uint16_t qtype) noexcept {
    const EncodedPool& pool = snapshot_.pools()[pool_index];
    if (qtype == kTypeAny) {
      if (!signed_) {
        hinfo(owner, pool.ttl);
        return;
      }
      // Signed: the addresses of one family, as for that type (RFC 8482 4.1).
      qtype = pool.v4.mode == FamilyMode::serve && !pool.v4.weights.empty() ? kTypeA : kTypeAaaa;
    }
    const EncodedFamily& family = qtype == kTypeA ? pool.v4 : pool.v6;
    if (family.mode == FamilyMode::servfail) {
      rcode_ = kRcodeServFail;
      return;
    }
    if (family.mode == FamilyMode::nodata || family.weights.empty()) {
      negative(zone);
      // The pool's NSEC lists only the types it answers now. Its owner is
      // the pool name under NSEC, the hashed name under NSEC3.
      if (signed_) write_records(pool.nsec_owner, pool.nsec, header_.nscount);
      return;
    }
    if (signed_ && !family.variants.empty()) {
      signed_pool_answer(pool, family, owner);
      stats_.pool_answers[std::min(pool_index, stats_.pool_answers.size() - 1)].add();
      return;
    }
    uint32_t picked[kMaxPoolAnswers];
    const std::span<uint32_t> wanted(picked, std::min<size_t>(pool.max_answers, kMaxPoolAnswers));
    size_t count = 0;
    if (pool.geo != zones::GeoMode::off && !family.places.empty()) {
      const geo::Located& client = locate_client();
      stats_.geo_answers[static_cast<size_t>(client.by)].add();
      scope_ = std::max(scope_, client.scope);
      if (client.place != nullptr) {
        count = pick_for_client(family.weights, family.places, pool.geo, pool.geo_margin,
                                *client.place, rng_, wanted);
      }
    }
    if (count == 0) count = sample_without_replacement(family.weights, rng_, wanted);
    const std::string_view records = family.records;
    for (size_t i = 0; i < count; ++i) {
      compressor_.write(writer_, owner);
      writer_.bytes(records.substr(picked[i] * family.record_size, family.record_size));
      ++header_.ancount;
      stats_.mirror_answers[family.slots[picked[i]]].add();
    }
    stats_.pool_answers[std::min(pool_index, stats_.pool_answers.size() - 1)].add();
  }

  // A DO=1 answer from a signed pool: one of its pre-signed sets (of the
  // client's tier in a geo pool), picked with its chance (which keeps the
  // weights), in random order, with the set's RRSIG.
  void signed_pool_answer(const EncodedPool& pool, const EncodedFamily& family,
                          std::string_view owner) noexcept {
    // A geo pool: the sets of the client's first tier, when signed.
    size_t first = 0;
    size_t sets = family.plain_variants;
    uint64_t total = family.variant_total;
    if (!family.geo_cells.empty()) {
      const geo::Located& client = locate_client();
      stats_.geo_answers[static_cast<size_t>(client.by)].add();
      scope_ = std::max(scope_, client.scope);
      if (const auto* cell = client.place ? signed_cell(pool, family, *client.place) : nullptr) {
        first = cell->first_variant;
        sets = cell->variant_count;
        total = cell->total;
      }
    }
    uint64_t r = rng_.below(total);
    size_t pick = first;
    while (pick + 1 < first + sets && r >= family.variants[pick].chance) {
      r -= family.variants[pick++].chance;
    }
    const EncodedFamily::Variant& v = family.variants[pick];
    uint32_t order[kMaxPoolAnswers];
    const size_t count = std::min<size_t>(v.count, kMaxPoolAnswers);
    for (size_t i = 0; i < count; ++i) order[i] = family.members[v.first + i];
    for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[rng_.below(i)]);
    const std::string_view records = family.records;
    for (size_t i = 0; i < count; ++i) {
      compressor_.write(writer_, owner);
      writer_.bytes(records.substr(order[i] * family.record_size, family.record_size));
      ++header_.ancount;
      stats_.mirror_answers[family.slots[order[i]]].add();
    }
    write_records(owner, std::string_view(family.sigs).substr(v.sig_offset, v.sig_length),
                  header_.ancount);
  }

  // Writes `rrset` and, to a DO=1 query of a signed zone, its RRSIGs.
  size_t write_signed(const EncodedZone& zone, const EncodedNode& node, std::string_view owner,
                      const EncodedRRset& rrset, uint16_t& count) noexcept {
    const size_t rdata_at = write_rrset(zone, owner, rrset, count);
    if (signed_) write_sigs(zone, node, owner, rrset.type, count);
    return rdata_at;
  }

  // The RRSIGs at `node` covering `type` (the SOA's are the snapshot's).
  void write_sigs(const EncodedZone& zone, const EncodedNode& node, std::string_view owner,
                  uint16_t type, uint16_t& count) noexcept {
    if (type == kTypeSoa) {
      write_records(owner, soa_->rrsig, count);
      return;
    }
    const EncodedRRset* sigs = zone.find(node, kTypeRrsig);
    if (sigs == nullptr) return;
    std::string_view rrs = zone.bytes(*sigs);
    while (rrs.size() >= kRrFixedSize + 2) {
      const size_t size = kRrFixedSize + get16(rrs.data() + kRdlengthAt);
      if (get16(rrs.data() + kRrFixedSize) == type) {
        compressor_.write(writer_, owner);
        writer_.bytes(rrs.substr(0, size));
        ++count;
      }
      rrs.remove_prefix(std::min(rrs.size(), size));
    }
  }

  // Records stored back to back (TYPE CLASS TTL RDLENGTH RDATA), all under `owner`.
  void write_records(std::string_view owner, std::string_view rrs, uint16_t& count) noexcept {
    while (rrs.size() >= kRrFixedSize) {
      const size_t size = kRrFixedSize + get16(rrs.data() + kRdlengthAt);
      compressor_.write(writer_, owner);
      writer_.bytes(rrs.substr(0, size));
      ++count;
      rrs.remove_prefix(std::min(rrs.size(), size));
    }
  }

  // Denial records into the authority section, each once per response:
  // the NSEC of chain node `node`, or NSEC3 entry `node`, with its RRSIGs.
  void write_denial(const EncodedZone& zone, uint32_t node) noexcept {
    for (size_t i = 0; i < denial_count_; ++i) {
      if (denial_written_[i] == node) return;
    }
    if (denial_count_ < std::size(denial_written_)) denial_written_[denial_count_++] = node;
    if (zone.uses_nsec3) {
      const EncodedZone::Nsec3& entry = zone.nsec3[node];
      const EncodedNode& hashed = zone.nodes[entry.node];
      if (hashed.pool >= 0) {
        const EncodedPool& pool = snapshot_.pools()[static_cast<size_t>(hashed.pool)];
        write_records(pool.nsec_owner, pool.nsec, header_.nscount);
        return;
      }
      const std::string_view bytes = zone.nsec3_records;
      write_records(bytes.substr(entry.offset, entry.owner_length),
                    bytes.substr(entry.offset + entry.owner_length, entry.length), header_.nscount);
      return;
    }
    const EncodedNode& n = zone.nodes[node];
    const std::string_view owner = zone.node_name(node);
    if (n.pool >= 0) {
      const EncodedPool& pool = snapshot_.pools()[static_cast<size_t>(n.pool)];
      write_records(owner, pool.nsec, header_.nscount);
      return;
    }
    if (const EncodedRRset* nsec = zone.find(n, kTypeNsec)) {
      write_rrset(zone, owner, *nsec, header_.nscount);
      write_sigs(zone, n, owner, kTypeNsec, header_.nscount);
    }
  }

  // NXDOMAIN. NSEC (RFC 4035 3.1.3.2): the NSEC covering the name and the
  // one covering the wildcard at its closest encloser. NSEC3 (RFC 5155
  // 7.2.2): the closest encloser's, and those covering the next closer name
  // and the wildcard.
  void deny_name(const EncodedZone& zone, const WireName& name, uint32_t encloser) noexcept {
    const std::string_view parent = zone.node_name(encloser);
    if (zone.uses_nsec3) {
      write_denial(zone, own_denial(zone, encloser));
      write_denial(zone, covering_denial(zone, next_closer(name, parent)));
    } else {
      write_denial(zone, covering_denial(zone, name.view()));
    }
    char wildcard[kMaxNameLength];
    if (parent.size() + 2 > sizeof wildcard) return;
    wildcard[0] = 1;
    wildcard[1] = '*';
    std::memcpy(wildcard + 2, parent.data(), parent.size());
    write_denial(zone, covering_denial(zone, std::string_view(wildcard, parent.size() + 2)));
  }

  // NODATA (RFC 4035 3.1.3.1, RFC 5155 7.2.3): the name's own NSEC or
  // NSEC3; for a wildcard match (3.1.3.4, 7.2.5) the wildcard's, and the
  // proof that the name asked for does not exist.
  void deny_type(const EncodedZone& zone, const WireName& name, const Found& found) noexcept {
    write_denial(zone, own_denial(zone, found.node));
    if (found.match != Match::wildcard) return;
    if (zone.uses_nsec3) {
      // The closest encloser proof: the wildcard's parent's own NSEC3 too.
      const uint32_t encloser = zone.names.find(zone.node_name(found.node).substr(2));
      if (encloser != NameTable::kNotFound) write_denial(zone, own_denial(zone, encloser));
    }
    deny_wildcard_source(zone, name, found.node);
  }

  // A wildcard answer (RFC 4035 3.1.3.3, RFC 5155 7.2.6): the NSEC covering
  // the name asked for, or the NSEC3 covering its next closer name; the
  // closest encloser is the wildcard's parent.
  void deny_wildcard_source(const EncodedZone& zone, const WireName& name,
                            uint32_t wildcard) noexcept {
    if (!zone.uses_nsec3) {
      write_denial(zone, covering_denial(zone, name.view()));
      return;
    }
    std::string_view parent = zone.node_name(wildcard);
    parent.remove_prefix(2);  // "\1*"
    write_denial(zone, covering_denial(zone, next_closer(name, parent)));
  }

  // Our OPT record's size, with the options the reply carries.
  size_t opt_size() const noexcept {
    return kOptSize + (ecs_ != nullptr ? client_subnet_option_size(*ecs_) : 0) +
           (nsid_.empty() ? 0 : 4 + nsid_.size()) + (cookie_.empty() ? 0 : 4 + cookie_.size());
  }

  // Where the client is, placed once per response (client_place.hh).
  const geo::Located& locate_client() noexcept {
    if (!located_) {
      located_ = true;
      client_ = dnsd::locate_client(*snapshot_.locator(), ecs_,
                                    query_ != nullptr ? query_->client : nullptr);
    }
    return client_;
  }

  // Writes every record of `rrset` into the section counted by `count`;
  // returns where the last record's RDATA starts (for CNAME targets).
  size_t write_rrset(const EncodedZone& zone, std::string_view owner, const EncodedRRset& rrset,
                     uint16_t& count) noexcept {
    // The zone's one SOA (at its apex) is answered with this snapshot's serial.
    std::string_view rrs =
        rrset.type == kTypeSoa ? std::string_view(soa_->record) : zone.bytes(rrset);
    size_t rdata_at = 0;
    while (rrs.size() >= kRrFixedSize) {
      const size_t rdlength = get16(rrs.data() + kRdlengthAt);
      compressor_.write(writer_, owner);
      rdata_at = writer_.position() + kRrFixedSize;
      writer_.bytes(rrs.substr(0, kRrFixedSize + rdlength));
      ++count;
      rrs.remove_prefix(std::min(rrs.size(), kRrFixedSize + rdlength));
    }
    return rdata_at;
  }

  void glue(const EncodedZone& zone, const EncodedRRset& ns) noexcept {
    begin_additional();
    for (uint32_t i = ns.glue_begin; i < ns.glue_end; ++i) {
      const GlueRef& ref = zone.glue[i];
      write_rrset(zone, zone.node_name(ref.node), zone.rrsets[ref.rrset], header_.arcount);
    }
  }

  // NODATA or NXDOMAIN: the SOA in the authority section (RFC 2308).
  void negative(const EncodedZone& zone) noexcept {
    compressor_.write(writer_, zone.apex);
    writer_.bytes(soa_->negative);
    ++header_.nscount;
    if (signed_) write_records(zone.apex, soa_->negative_rrsig, header_.nscount);
  }

  void hinfo(std::string_view owner, uint32_t ttl) noexcept {
    compressor_.write(writer_, owner);
    writer_.u16(kTypeHinfo);
    writer_.u16(kClassIn);
    writer_.u32(ttl);
    writer_.u16(kHinfoRdataSize);
    writer_.bytes(kHinfoRdata, kHinfoRdataSize);
    ++header_.ancount;
  }

  void begin_additional() noexcept {
    in_additional_ = true;
    overflow_before_additional_ = writer_.overflow();
    additional_start_ = writer_.position();
  }

  const Snapshot& snapshot_;
  Rng& rng_;
  Stats& stats_;
  Writer writer_;
  size_t limit_;
  Compressor<kMaxChase + 2> compressor_;
  const ZoneSoa* soa_ = nullptr;  // of the zone being answered from
  size_t body_start_ = 0;
  size_t additional_start_ = 0;
  Header header_;  // of the response, written last
  uint8_t rcode_ = kRcodeNoError;
  bool aa_ = false;
  bool edns_ = false;
  bool dnssec_ok_ = false;
  bool signed_ = false;              // DO=1 and the zone answering is signed
  uint32_t denial_written_[4] = {};  // NSEC chain nodes or NSEC3 entries in the response
  size_t denial_count_ = 0;
  bool referral_ = false;
  const Query* query_ = nullptr;
  const ClientSubnet* ecs_ = nullptr;  // the query's, when the reply echoes it
  std::string_view nsid_;              // the NSID the reply carries, if any
  std::span<const uint8_t> cookie_;    // the COOKIE option data the reply carries, if any
  uint8_t scope_ = 0;                  // the reply's SCOPE PREFIX-LENGTH
  bool located_ = false;
  geo::Located client_;
  bool in_additional_ = false;
  bool overflow_before_additional_ = false;
};

}  // namespace

size_t respond(const Query& query, const Snapshot& snapshot, Rng& rng, std::span<uint8_t> out,
               Stats& stats, const ReplyOptions& options) noexcept {
  if (out.size() < kMinUdpMessageSize) return 0;
  const Header& header = query.header;
  // Error answers: header and question at most, within the smallest UDP
  // limit whatever the transport.
  auto error = [&](const Question* question, uint8_t rcode) noexcept {
    Response response(snapshot, rng, stats, out, kMinUdpMessageSize);
    response.start(header, question, rcode);
    return response.finish();
  };
  switch (query.kind) {
    case QueryKind::malformed:
    case QueryKind::response:
    case QueryKind::axfr:
    case QueryKind::ixfr:
      return 0;
    case QueryKind::notify:
    case QueryKind::bad_opcode:
      // We are the primary: like NSD for its own zones, a NOTIFY sent to us is
      // refused (no secondary zones here); other opcodes are not implemented.
      return error(header.qdcount == 1 && query.has_question ? &query.question : nullptr,
                   query.kind == QueryKind::notify ? kRcodeRefused : kRcodeNotImp);
    case QueryKind::bad_qdcount:
      return error(nullptr, kRcodeFormErr);
    case QueryKind::bad_edns:
      return error(&query.question, kRcodeFormErr);
    case QueryKind::normal:
      break;
  }

  const Edns& edns = query.edns;
  size_t limit = kMinUdpMessageSize;
  if (query.transport == Transport::tcp) {
    limit = kMaxMessageSize;
  } else if (edns.present) {
    limit = std::max<size_t>(kMinUdpMessageSize,
                             std::min<size_t>(edns.udp_size, snapshot.udp_max_size()));
  }
  limit = std::min(limit, out.size()) - options.reserve;

  Response response(snapshot, rng, stats, out, limit);
  response.start(header, &query.question, kRcodeNoError);
  response.set_client(query);
  response.set_edns(edns, options.cookie);
  if (edns.present && edns.version > 0) {
    response.set_rcode(kRcodeBadVers);
    return response.finish();
  }
  if (options.bad_cookie) {
    response.set_rcode(kRcodeBadCookie);
    return response.finish();
  }
  WireName qname;
  query.question.name.lowercase_into(qname);
  response.answer(query.question, qname);
  return response.finish();
}

}  // namespace mirrorpool::dnsd
