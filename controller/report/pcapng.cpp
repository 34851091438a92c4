#include "report/pcapng.hpp"

#include <cstring>

namespace pw {

namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A, kInterfaceDescription = 1, kEnhancedPacket = 6;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kIfName = 2, kIfTsresol = 9, kShbUserappl = 4;
constexpr uint16_t kLinkEthernet = 1;

template <class T>
void put(std::vector<uint8_t>& b, T v)
{
    uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T)); // host order: the byte-order magic says which
    b.insert(b.end(), bytes, bytes + sizeof(T));
}

void pad4(std::vector<uint8_t>& b)
{
    while (b.size() % 4)
        b.push_back(0);
}

void option(std::vector<uint8_t>& b, uint16_t code, const void* value, size_t len)
{
    put<uint16_t>(b, code);
    put<uint16_t>(b, static_cast<uint16_t>(len));
    const auto* v = static_cast<const uint8_t*>(value);
    b.insert(b.end(), v, v + len);
    pad4(b);
}

void option(std::vector<uint8_t>& b, uint16_t code, const std::string& s)
{
    option(b, code, s.data(), std::min<size_t>(s.size(), 0xfffc));
}

void end_of_options(std::vector<uint8_t>& b)
{
    put<uint16_t>(b, kOptEnd);
    put<uint16_t>(b, 0);
}

} // namespace

PcapngWriter::PcapngWriter(std::ostream& out, const std::string& application) : out_(out)
{
    std::vector<uint8_t> b;
    put<uint32_t>(b, 0x1A2B3C4D); // byte-order magic
    put<uint16_t>(b, 1);          // version 1.0
    put<uint16_t>(b, 0);
    put<int64_t>(b, -1); // section length: not given
    option(b, kShbUserappl, application);
    end_of_options(b);
    block(kSectionHeader, b);
}

uint32_t PcapngWriter::interface_id(const std::string& ifname)
{
    auto it = interfaces_.find(ifname);
    if (it != interfaces_.end())
        return it->second;
    std::vector<uint8_t> b;
    put<uint16_t>(b, kLinkEthernet);
    put<uint16_t>(b, 0);
    put<uint32_t>(b, 0); // snaplen: no limit stated
    option(b, kIfName, ifname);
    const uint8_t nanoseconds = 9;
    option(b, kIfTsresol, &nanoseconds, 1);
    end_of_options(b);
    block(kInterfaceDescription, b);
    uint32_t id = static_cast<uint32_t>(interfaces_.size());
    interfaces_.emplace(ifname, id);
    return id;
}

void PcapngWriter::packet(const std::string& ifname, uint64_t ts_ns, uint32_t len, const uint8_t* data,
                          uint32_t caplen, const std::string& comment)
{
    uint32_t id = interface_id(ifname);
    std::vector<uint8_t> b;
    put<uint32_t>(b, id);
    put<uint32_t>(b, static_cast<uint32_t>(ts_ns >> 32));
    put<uint32_t>(b, static_cast<uint32_t>(ts_ns));
    put<uint32_t>(b, caplen);
    put<uint32_t>(b, len);
    b.insert(b.end(), data, data + caplen);
    pad4(b);
    if (!comment.empty())
        option(b, kOptComment, comment);
    end_of_options(b);
    block(kEnhancedPacket, b);
}

void PcapngWriter::block(uint32_t type, const std::vector<uint8_t>& body)
{
    std::vector<uint8_t> b;
    const uint32_t total = static_cast<uint32_t>(body.size() + 12);
    put<uint32_t>(b, type);
    put<uint32_t>(b, total);
    b.insert(b.end(), body.begin(), body.end());
    put<uint32_t>(b, total);
    out_.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

} // namespace pw
