/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounds-checked header parsing in the xdp-tutorial style: a cursor walks
 * the frame, each parse_* checks the header fits before touching it and
 * returns the next protocol (or -1 when the frame is cut short or invalid).
 */
#ifndef PW_BPF_PARSING_H
#define PW_BPF_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define PW_MAX_VLAN_TAGS 2

/* The frame's length. The subtraction stays 64-bit: the verifier refuses
 * 32-bit pointer arithmetic, which clang would otherwise narrow it to. */
static __always_inline __u32 frame_len(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__s64 len = end - data;

	asm volatile("" : "+r"(len));
	return (__u32)len;
}

struct cursor {
	void *pos;
	void *end;
};

struct vlan_tag {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline int is_vlan_proto(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) ||
	       h_proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet plus up to PW_MAX_VLAN_TAGS 802.1Q/802.1ad tags. Returns the
 * ethertype after the tags (network order), or -1 if the frame ends first.
 * A frame with more tags than we parse returns the VLAN ethertype, which
 * the caller treats as non-IP. */
static __always_inline int parse_ethhdr(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct vlan_tag *tag;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < PW_MAX_VLAN_TAGS; i++) {
		if (!is_vlan_proto(proto))
			break;
		tag = c->pos;
		if ((void *)(tag + 1) > c->end)
			return -1;
		c->pos = tag + 1;
		proto = tag->encapsulated_proto;
	}
	return proto;
}

/* IPv4 with any valid IHL (5..15). The header must be complete, the
 * version 4, and the total length must cover the header and fit in the
 * frame (Ethernet padding after it is fine). */
static __always_inline struct iphdr *parse_iphdr(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	__u32 hdr_len, tot_len;

	if ((void *)(ip + 1) > c->end)
		return NULL;
	if (ip->version != 4 || ip->ihl < 5)
		return NULL;
	hdr_len = ip->ihl * 4;
	if (c->pos + hdr_len > c->end)
		return NULL;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < hdr_len || c->pos + tot_len > c->end)
		return NULL;
	c->pos += hdr_len;
	return ip;
}

/* IPv6 fixed header. The addresses are all we judge, so extension headers
 * after it are not walked. A payload length beyond the frame is a
 * truncated packet (0, a jumbogram, is accepted). */
static __always_inline struct ipv6hdr *parse_ip6hdr(struct cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 payload;

	if ((void *)(ip6 + 1) > c->end)
		return NULL;
	if (ip6->version != 6)
		return NULL;
	payload = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + payload > c->end)
		return NULL;
	c->pos = ip6 + 1;
	return ip6;
}

#endif /* PW_BPF_PARSING_H */
