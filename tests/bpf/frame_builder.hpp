// A small fluent builder for test frames, in the spirit of Katran's
// PacketBuilder: Frame().eth().vlan(0x8100, 7).ipv4(src, dst).udp().bytes().
// Lengths and the IPv4 checksum are filled in by bytes(); cut() and the
// raw setters make broken frames on purpose.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pwtest {

class Frame {
public:
    Frame& eth(uint16_t ethertype = 0);
    Frame& vlan(uint16_t tpid, uint16_t vid);
    Frame& ipv4(const std::string& src, const std::string& dst, uint8_t proto = 17,
                unsigned option_words = 0);
    Frame& fragment(uint16_t offset_8b, bool more);
    Frame& ipv6(const std::string& src, const std::string& dst, uint8_t next = 17);
    // An extension header (hop-by-hop 0, routing 43, fragment 44,
    // destination options 60) of 8 bytes, inserted after the IPv6 header
    // chain built so far.
    Frame& ipv6_ext(uint8_t type, uint8_t next);
    Frame& udp(uint16_t sport = 40000, uint16_t dport = 9, size_t payload = 16);
    // TCP without options; flags as in the header's byte 13 (0x02 SYN,
    // 0x10 ACK, 0x04 RST, 0x01 FIN). The checksum is left 0.
    Frame& tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
               size_t payload = 0);
    // An ICMP or ICMPv6 header (type, code, 4 bytes of zero) and payload.
    Frame& icmp(uint8_t type, uint8_t code, size_t payload = 8);
    Frame& arp();
    // Destination and source MAC (the defaults are 02:00:00:00:00:02 and
    // ...:01).
    Frame& macs(const std::array<uint8_t, 6>& dst, const std::array<uint8_t, 6>& src);
    Frame& raw(std::vector<uint8_t> b);

    // Finishes lengths and checksums, then applies cut/overrides.
    std::vector<uint8_t> bytes() const;
    Frame& cut(size_t len) { cut_ = len; return *this; }
    Frame& ihl(uint8_t v) { ihl_override_ = v; return *this; }
    Frame& ipv4_total_length(uint16_t v) { tot_len_override_ = v; return *this; }
    Frame& ipv6_payload_length(uint16_t v) { payload_override_ = v; return *this; }

private:
    void set_proto(uint16_t ethertype);
    std::vector<uint8_t> buf_;
    size_t proto_at_ = SIZE_MAX; // offset of the ethertype field to fill
    size_t ip4_at_ = SIZE_MAX, ip6_at_ = SIZE_MAX, ip6_next_at_ = SIZE_MAX;
    size_t cut_ = SIZE_MAX;
    int ihl_override_ = -1, tot_len_override_ = -1, payload_override_ = -1;
};

} // namespace pwtest
