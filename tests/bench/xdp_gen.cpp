// The throughput bench's traffic source (see bpf/xdp_gen.bpf.c):
//   xdp_gen IFACE DST_MAC ADDR_FILE PACKETS [DST]
// sends PACKETS 64-byte UDP frames out of IFACE (one end of a veth pair in
// a namespace of the bench's own) to DST_MAC, IPv4 sources taken in turn
// from ADDR_FILE (one address per line), destination DST (203.0.113.10).
// Prints "sent N in S s".
#include "xdp_gen.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 5 && argc != 6) {
        std::fprintf(stderr, "usage: xdp_gen IFACE DST_MAC ADDR_FILE PACKETS [DST]\n");
        return 2;
    }
    unsigned ifindex = if_nametoindex(argv[1]);
    unsigned mac[6];
    if (!ifindex || std::sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3],
                                &mac[4], &mac[5]) != 6) {
        std::fprintf(stderr, "xdp_gen: bad interface or MAC\n");
        return 2;
    }
    std::vector<uint32_t> addrs;
    std::ifstream in(argv[3]);
    for (std::string line; std::getline(in, line);) {
        in_addr a{};
        if (inet_pton(AF_INET, line.c_str(), &a) == 1)
            addrs.push_back(a.s_addr);
    }
    if (addrs.empty() || addrs.size() > (1u << 20)) {
        std::fprintf(stderr, "xdp_gen: %s: need 1 to 2^20 IPv4 addresses\n", argv[3]);
        return 2;
    }
    xdp_gen_bpf* skel = xdp_gen_bpf__open();
    if (!skel)
        return 1;
    skel->rodata->cfg_count = static_cast<uint32_t>(addrs.size());
    if (xdp_gen_bpf__load(skel)) {
        std::fprintf(stderr, "xdp_gen: cannot load\n");
        return 1;
    }
    int map = bpf_map__fd(skel->maps.gen_addrs);
    for (uint32_t i = 0; i < addrs.size(); i++)
        bpf_map_update_elem(map, &i, &addrs[i], BPF_ANY);

    uint8_t frame[64] = {};
    auto* eth = reinterpret_cast<ethhdr*>(frame);
    for (int i = 0; i < 6; i++)
        eth->h_dest[i] = static_cast<uint8_t>(mac[i]);
    eth->h_source[0] = 0x02;
    eth->h_source[5] = 0x01;
    eth->h_proto = htons(ETH_P_IP);
    auto* ip = reinterpret_cast<iphdr*>(frame + sizeof(ethhdr));
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(sizeof(frame) - sizeof(ethhdr));
    inet_pton(AF_INET, "192.0.2.1", &ip->saddr);
    if (inet_pton(AF_INET, argc == 6 ? argv[5] : "203.0.113.10", &ip->daddr) != 1) {
        std::fprintf(stderr, "xdp_gen: bad destination\n");
        return 2;
    }
    auto* udp = reinterpret_cast<udphdr*>(frame + sizeof(ethhdr) + sizeof(iphdr));
    udp->source = htons(9999);
    udp->dest = htons(9000);
    udp->len = htons(sizeof(frame) - sizeof(ethhdr) - sizeof(iphdr));

    xdp_md ctx{};
    ctx.data_end = sizeof(frame);
    ctx.ingress_ifindex = ifindex;
    unsigned long long total = std::stoull(argv[4]), sent = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (sent < total) {
        unsigned chunk = static_cast<unsigned>(std::min<unsigned long long>(total - sent, 1u << 22));
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(chunk),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
        if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_gen), &o) != 0) {
            std::perror("xdp_gen: test run");
            return 1;
        }
        sent += chunk;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("sent %llu in %.3f s\n", sent, s);
    xdp_gen_bpf__destroy(skel);
    return 0;
}
