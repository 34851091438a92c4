// A pcapng writer (the format tcpdump, tshark and Wireshark read; draft-
// ietf-opsawg-pcapng): one section, an interface description per
// interface as it first appears (Ethernet, nanosecond timestamps, its
// name), and an enhanced packet block per packet with a comment.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace pw {

class PcapngWriter {
public:
    // Writes the section header block.
    PcapngWriter(std::ostream& out, const std::string& application);
    // One packet: received on `ifname` at `ts_ns` (nanoseconds since the
    // epoch), `len` bytes long, the first `caplen` of them in `data`.
    void packet(const std::string& ifname, uint64_t ts_ns, uint32_t len, const uint8_t* data,
                uint32_t caplen, const std::string& comment);
    void flush() { out_.flush(); }

private:
    uint32_t interface_id(const std::string& ifname);
    void block(uint32_t type, const std::vector<uint8_t>& body);
    std::ostream& out_;
    std::map<std::string, uint32_t> interfaces_;
};

} // namespace pw
