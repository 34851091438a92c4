// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Traffic source of the throughput bench: run through BPF_PROG_TEST_RUN
 * with BPF_F_TEST_XDP_LIVE_FRAMES on one end of a veth pair, it rewrites
 * each frame's IPv4 source from gen_addrs (in turn) and fixes the header
 * checksum (a bad one would be dropped before iptables and fake a
 * speed-up), then sends it to the peer with XDP_TX.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32); /* network order */
	__uint(max_entries, 1 << 20);
} gen_addrs SEC(".maps");

const volatile __u32 cfg_count = 1;
__u32 gen_next = 0;

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 i = __sync_fetch_and_add(&gen_next, 1) % cfg_count;
	__u32 *addr = bpf_map_lookup_elem(&gen_addrs, &i);
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;

	if ((void *)(ip + 1) > end || !addr)
		return XDP_ABORTED;
	ip->saddr = *addr;
	ip->check = 0;
#pragma clang loop unroll(full)
	for (int k = 0; k < 10; k++)
		sum += w[k];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
