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
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define PW_MAX_VLAN_TAGS 2

/* The bytes from `from` to `to` in one frame. The subtraction stays
 * 64-bit: the verifier refuses 32-bit pointer arithmetic, which clang
 * would otherwise narrow it to. */
static __always_inline __u32 ptr_gap(void *from, void *to)
{
	__s64 len = to - from;

	asm volatile("" : "+r"(len));
	return (__u32)len;
}

/* The frame's length. */
static __always_inline __u32 frame_len(struct xdp_md *ctx)
{
	return ptr_gap((void *)(long)ctx->data, (void *)(long)ctx->data_end);
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

#define PW_IPV6_EXT_MAX 4

/* Where an IPv6 packet's upper-layer header is: behind up to
 * PW_IPV6_EXT_MAX extension headers (hop-by-hop, routing, destination
 * options, fragment). */
struct ip6_upper {
	__u32 off;           /* from the IPv6 header */
	__u8 proto;          /* the upper-layer protocol */
	__u8 later_fragment; /* a fragment after the first: no upper-layer header */
};

/* 0, or -1 when a header is cut short or the chain is longer. */
static __always_inline int ipv6_upper(struct ipv6hdr *ip6, void *end, struct ip6_upper *u)
{
	__u8 next = ip6->nexthdr;
	__u32 off = sizeof(*ip6);

	u->later_fragment = 0;
#pragma unroll
	for (int i = 0; i < PW_IPV6_EXT_MAX; i++) {
		__u8 *h = (void *)ip6 + off;

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_FRAGMENT)
			break;
		if ((void *)(h + 8) > end)
			return -1;
		if (next == IPPROTO_FRAGMENT) {
			if (((__u16)h[2] << 8 | h[3]) & 0xfff8)
				u->later_fragment = 1;
			off += 8;
		} else {
			off += (h[1] + 1) * 8;
		}
		next = h[0];
		if (off > 512)
			return -1;
	}
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	    next == IPPROTO_FRAGMENT)
		return -1;
	u->off = off;
	u->proto = next;
	return 0;
}

#endif /* PW_BPF_PARSING_H */
