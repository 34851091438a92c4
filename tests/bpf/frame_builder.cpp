#include "frame_builder.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <stdexcept>

namespace pwtest {

namespace {
void put16(std::vector<uint8_t>& b, size_t at, uint16_t v)
{
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
void append16(std::vector<uint8_t>& b, uint16_t v)
{
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
} // namespace

void Frame::set_proto(uint16_t ethertype)
{
    if (proto_at_ != SIZE_MAX)
        put16(buf_, proto_at_, ethertype);
}

Frame& Frame::eth(uint16_t ethertype)
{
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    buf_.insert(buf_.end(), dst, dst + 6);
    buf_.insert(buf_.end(), src, src + 6);
    proto_at_ = buf_.size();
    append16(buf_, ethertype);
    return *this;
}

Frame& Frame::vlan(uint16_t tpid, uint16_t vid)
{
    set_proto(tpid);
    append16(buf_, vid & 0x0fff);
    proto_at_ = buf_.size();
    append16(buf_, 0);
    return *this;
}

Frame& Frame::ipv4(const std::string& src, const std::string& dst, uint8_t proto,
                   unsigned option_words)
{
    set_proto(0x0800);
    proto_at_ = SIZE_MAX;
    ip4_at_ = buf_.size();
    unsigned ihl = 5 + option_words;
    buf_.resize(buf_.size() + ihl * 4, 0);
    uint8_t* h = buf_.data() + ip4_at_;
    h[0] = static_cast<uint8_t>(0x40 | ihl);
    h[8] = 64;
    h[9] = proto;
    if (inet_pton(AF_INET, src.c_str(), h + 12) != 1 || inet_pton(AF_INET, dst.c_str(), h + 16) != 1)
        throw std::invalid_argument("bad IPv4 address in test frame");
    for (unsigned i = 0; i < option_words * 4; i++)
        h[20 + i] = 1; // NOP options
    return *this;
}

Frame& Frame::fragment(uint16_t offset_8b, bool more)
{
    put16(buf_, ip4_at_ + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (offset_8b & 0x1fff)));
    return *this;
}

Frame& Frame::ipv6(const std::string& src, const std::string& dst, uint8_t next)
{
    set_proto(0x86DD);
    proto_at_ = SIZE_MAX;
    ip6_at_ = buf_.size();
    buf_.resize(buf_.size() + 40, 0);
    uint8_t* h = buf_.data() + ip6_at_;
    h[0] = 0x60;
    h[6] = next;
    h[7] = 64;
    if (inet_pton(AF_INET6, src.c_str(), h + 8) != 1 || inet_pton(AF_INET6, dst.c_str(), h + 24) != 1)
        throw std::invalid_argument("bad IPv6 address in test frame");
    ip6_next_at_ = ip6_at_ + 6;
    return *this;
}

Frame& Frame::ipv6_ext(uint8_t type, uint8_t next)
{
    buf_[ip6_next_at_] = type;
    size_t at = buf_.size();
    buf_.resize(at + 8, 0);
    buf_[at] = next; // next header; length 0 = 8 bytes
    ip6_next_at_ = at;
    return *this;
}

Frame& Frame::udp(uint16_t sport, uint16_t dport, size_t payload)
{
    size_t at = buf_.size();
    append16(buf_, sport);
    append16(buf_, dport);
    append16(buf_, static_cast<uint16_t>(8 + payload));
    append16(buf_, 0);
    buf_.resize(at + 8 + payload, 0xab);
    return *this;
}

Frame& Frame::tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  size_t payload)
{
    size_t at = buf_.size();
    append16(buf_, sport);
    append16(buf_, dport);
    append16(buf_, static_cast<uint16_t>(seq >> 16));
    append16(buf_, static_cast<uint16_t>(seq));
    append16(buf_, static_cast<uint16_t>(ack >> 16));
    append16(buf_, static_cast<uint16_t>(ack));
    buf_.push_back(5 << 4); // data offset: 20 bytes
    buf_.push_back(flags);
    append16(buf_, 64240); // window
    append16(buf_, 0);     // checksum
    append16(buf_, 0);     // urgent pointer
    buf_.resize(at + 20 + payload, 0xcd);
    return *this;
}

Frame& Frame::icmp(uint8_t type, uint8_t code, size_t payload)
{
    size_t at = buf_.size();
    buf_.push_back(type);
    buf_.push_back(code);
    buf_.resize(at + 8 + payload, 0xef);
    return *this;
}

Frame& Frame::macs(const std::array<uint8_t, 6>& dst, const std::array<uint8_t, 6>& src)
{
    std::copy(dst.begin(), dst.end(), buf_.begin());
    std::copy(src.begin(), src.end(), buf_.begin() + 6);
    return *this;
}

Frame& Frame::arp()
{
    set_proto(0x0806);
    proto_at_ = SIZE_MAX;
    const uint8_t body[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1,
                              0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
    buf_.insert(buf_.end(), body, body + 28);
    return *this;
}

Frame& Frame::raw(std::vector<uint8_t> b)
{
    buf_.insert(buf_.end(), b.begin(), b.end());
    return *this;
}

std::vector<uint8_t> Frame::bytes() const
{
    std::vector<uint8_t> b = buf_;
    if (ip4_at_ != SIZE_MAX) {
        uint8_t* h = b.data() + ip4_at_;
        put16(b, ip4_at_ + 2,
              tot_len_override_ >= 0 ? static_cast<uint16_t>(tot_len_override_)
                                     : static_cast<uint16_t>(b.size() - ip4_at_));
        if (ihl_override_ >= 0)
            h[0] = static_cast<uint8_t>((h[0] & 0xf0) | ihl_override_);
        unsigned hl = (h[0] & 0x0f) * 4u;
        uint32_t sum = 0;
        for (unsigned i = 0; i + 1 < hl && ip4_at_ + i + 1 < b.size(); i += 2)
            sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        put16(b, ip4_at_ + 10, static_cast<uint16_t>(~sum));
    }
    if (ip6_at_ != SIZE_MAX)
        put16(b, ip6_at_ + 4,
              payload_override_ >= 0 ? static_cast<uint16_t>(payload_override_)
                                     : static_cast<uint16_t>(b.size() - ip6_at_ - 40));
    if (cut_ < b.size())
        b.resize(cut_);
    return b;
}

} // namespace pwtest
