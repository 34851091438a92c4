/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reject action: the frame is turned into its answer in place and sent
 * back out of the interface it came in on (XDP_TX).
 *
 *   TCP          a RST (RFC 9293 3.10.7.1): to a segment with ACK, seq =
 *                its ack number; else RST|ACK with seq 0 and ack = its
 *                seq + its length (SYN and FIN count one each).
 *   IPv4 other   ICMP destination unreachable, administratively
 *                prohibited (type 3 code 13), quoting the IP header and
 *                the first 8 bytes of the datagram (RFC 792).
 *   IPv6 other   ICMPv6 destination unreachable, administratively
 *                prohibited (type 1 code 1), quoting as much of the packet
 *                as fits in 1280 bytes (RFC 4443 2.4(c), 3.1).
 *
 * The answer comes from the address the packet was sent to, to the address
 * it came from, MACs swapped, TTL/hop limit 64, checksums computed here.
 * Never answered (plain drop, RFC 1122 3.2.2 / RFC 4443 2.4(e)): ICMP and
 * ICMPv6 errors, RSTs, fragments after the first, and packets to or from
 * a broadcast, multicast or unspecified address or MAC. A per-CPU token
 * bucket (cfg_reject_interval_ns per answer, a second's worth of burst)
 * turns answers beyond the rate into plain drops, so a flood of rejected
 * packets is never amplified. A running capture gets the packet as it
 * came, before it becomes its answer.
 */
#ifndef PW_BPF_REJECT_H
#define PW_BPF_REJECT_H

#include <linux/in.h>
#include <linux/tcp.h>
#include "parsing.h"
#include "capture.h"

/* ICMP and ICMPv6 share the layout of the first 8 bytes of an error
 * (linux/icmp.h pulls in libc headers, so they are spelled out here). */
struct pw_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 unused;
};

#define PW_ICMP_DEST_UNREACH 3
#define PW_ICMP_PKT_FILTERED 13 /* communication administratively prohibited */
#define PW_ICMPV6_DEST_UNREACH 1
#define PW_ICMPV6_ADM_PROHIBITED 1
#define PW_ICMPV6_INFO_MIN 128 /* types below are errors */

#define PW_REJECT_TTL 64
#define PW_REJECT_BURST_NS 1000000000ull
/* The longest answer RFC 4443 allows: the IPv6 minimum MTU. */
#define PW_ICMP6_MAX_QUOTE (1280 - 40 - 8)
/* Ethernet plus PW_MAX_VLAN_TAGS tags. */
#define PW_MAX_L2_LEN (14 + 4 * PW_MAX_VLAN_TAGS)

/* Nanoseconds one answer costs in the bucket; ~0: never answer. */
const volatile __u64 cfg_reject_interval_ns = 1000000;

/* The bucket, per CPU (per program instance): the time at which it would
 * be empty again (GCRA). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} reject_bucket SEC(".maps");

/* Whether the bucket has an answer left, without taking it: checked
 * before the packet is parsed, so that the excess of a flood costs what a
 * block costs. */
static __always_inline int reject_token_left(void)
{
	__u32 zero = 0;
	__u64 *tat = bpf_map_lookup_elem(&reject_bucket, &zero);
	__u64 now;

	if (!tat || cfg_reject_interval_ns == ~0ull)
		return 0;
	now = bpf_ktime_get_ns();
	return *tat <= now || *tat + cfg_reject_interval_ns - now <= PW_REJECT_BURST_NS;
}

static __always_inline int reject_token(void)
{
	__u32 zero = 0;
	__u64 *tat = bpf_map_lookup_elem(&reject_bucket, &zero);
	__u64 now = bpf_ktime_get_ns(), t;

	if (!tat || cfg_reject_interval_ns == ~0ull)
		return 0;
	t = *tat > now ? *tat : now;
	if (t + cfg_reject_interval_ns - now > PW_REJECT_BURST_NS)
		return 0;
	*tat = t + cfg_reject_interval_ns;
	return 1;
}

static __always_inline __u32 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* One's-complement sum of len bytes at p (16-bit words as they lie in
 * memory, the last odd byte padded with zero), bounded by end. */
static __always_inline __u32 csum_bytes(void *p, __u32 len, void *end, __u32 sum)
{
	for (__u32 i = 0; i < PW_ICMP6_MAX_QUOTE + 48; i += 2) {
		__u16 *w = p + i;

		if (i + 2 > len)
			break;
		if ((void *)(w + 1) > end)
			return sum;
		sum += *w;
	}
	if (len & 1) {
		__u8 *b = p + (len & ~1u);
		__u16 last = 0;

		if ((void *)(b + 1) > end)
			return sum;
		*(__u8 *)&last = *b;
		sum += last;
	}
	return sum;
}

static __always_inline __u32 csum_addr6(const struct in6_addr *a, __u32 sum)
{
#pragma unroll
	for (int i = 0; i < 8; i++)
		sum += a->in6_u.u6_addr16[i];
	return sum;
}

static __always_inline int mac_multicast(const struct ethhdr *eth)
{
	return eth->h_dest[0] & 1 || eth->h_source[0] & 1;
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

/* Moves the L2 header (l2_len bytes, Ethernet and its VLAN tags) from
 * `grow` bytes after the start of the frame to its start, after
 * bpf_xdp_adjust_head(-grow). */
static __always_inline int move_l2(struct xdp_md *ctx, __u32 l2_len, __u32 grow)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	for (__u32 i = 0; i < PW_MAX_L2_LEN; i++) {
		if (i >= l2_len)
			break;
		if (data + grow + i + 1 > end)
			return -1;
		data[i] = data[grow + i];
	}
	return 0;
}

/* Cuts or grows the frame's tail so that it is `len` bytes long. */
static __always_inline int set_frame_len(struct xdp_md *ctx, __u32 len)
{
	return bpf_xdp_adjust_tail(ctx, (int)len - (int)frame_len(ctx));
}

/* Reshapes the frame for its answer: `grow` bytes more at the head (the
 * L2 header moved to the front), then cut to `len` bytes, MACs swapped.
 * Every packet pointer is stale afterwards. 0 on success. */
static __always_inline int reshape(struct xdp_md *ctx, __u32 l2_len, __u32 grow, __u32 len)
{
	struct ethhdr *eth;

	if (grow && (bpf_xdp_adjust_head(ctx, -(int)grow) || move_l2(ctx, l2_len, grow)))
		return -1;
	if (set_frame_len(ctx, len))
		return -1;
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -1;
	swap_macs(eth);
	return 0;
}

/* What a reject needs from the TCP segment it answers. */
struct tcp_seen {
	__be16 sport, dport;
	__u32 seq, ack_seq; /* host order */
	__u32 seg_len;      /* payload, plus SYN and FIN */
	__u8 ack;
};

/* Reads the segment at th (l4_len bytes of TCP from its header on);
 * 0: answer it, -1: never answer (RST, cut short). */
static __always_inline int tcp_read(struct tcphdr *th, void *end, __u32 l4_len,
				    struct tcp_seen *s)
{
	__u32 doff;

	if ((void *)(th + 1) > end || th->rst)
		return -1;
	doff = th->doff * 4;
	if (doff < sizeof(*th) || doff > l4_len)
		return -1;
	s->sport = th->source;
	s->dport = th->dest;
	s->seq = bpf_ntohl(th->seq);
	s->ack_seq = bpf_ntohl(th->ack_seq);
	s->ack = th->ack;
	s->seg_len = l4_len - doff + th->syn + th->fin;
	return 0;
}

/* Writes the RST answering s at th; the checksum is the caller's. */
static __always_inline void tcp_write_rst(struct tcphdr *th, const struct tcp_seen *s)
{
	__builtin_memset(th, 0, sizeof(*th));
	th->source = s->dport;
	th->dest = s->sport;
	th->doff = sizeof(*th) / 4;
	th->rst = 1;
	if (s->ack) {
		th->seq = bpf_htonl(s->ack_seq);
	} else {
		th->ack = 1;
		th->ack_seq = bpf_htonl(s->seq + s->seg_len);
	}
}

static __always_inline int ipv4_unanswerable(__be32 a)
{
	__u32 h = bpf_ntohl(a);

	return h == 0 || h == 0xffffffff || (h >> 28) == 0xe; /* 0/32, broadcast, 224/4 */
}

static __always_inline void ipv4_write(struct iphdr *ip, __be32 saddr, __be32 daddr,
				       __u8 proto, __u8 tos, __u16 tot_len)
{
	__builtin_memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->ttl = PW_REJECT_TTL;
	ip->protocol = proto;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = ~csum_fold(csum_bytes(ip, sizeof(*ip), ip + 1, 0)) & 0xffff;
}

/* IPv4: the frame (L2 header of l2_len bytes) becomes its answer. Returns
 * 1 when it is one, 0 for a plain drop. src_rule and dst_rule: the rules
 * the addresses matched, for a running capture. A global function,
 * verified once (its checksum loops are long). */
__noinline int reject_v4(struct xdp_md *ctx, __u32 l2_len, __u32 src_rule,
			 __u32 dst_rule)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__be32 saddr, daddr;
	__u32 ihl, tot_len, quote;

	if (l2_len > PW_MAX_L2_LEN || !reject_token_left())
		return 0;
	ip = data + l2_len;
	if ((void *)(eth + 1) > end || (void *)(ip + 1) > end || mac_multicast(eth))
		return 0;
	saddr = ip->saddr;
	daddr = ip->daddr;
	if (ipv4_unanswerable(saddr) || ipv4_unanswerable(daddr))
		return 0;
	if (ip->frag_off & bpf_htons(0x1fff))
		return 0; /* not the first fragment */
	ihl = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (ihl < sizeof(*ip) || ihl > 60 || tot_len < ihl)
		return 0;

	if (ip->protocol == IPPROTO_TCP) {
		struct tcp_seen s;
		struct tcphdr *th;
		__u32 sum;

		if (tcp_read(data + l2_len + ihl, end, tot_len - ihl, &s) < 0)
			return 0;
		if (!reject_token())
			return 0;
		capture(ctx, src_rule, dst_rule, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
		if (reshape(ctx, l2_len, 0, l2_len + sizeof(*ip) + sizeof(*th)))
			return 0;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		ip = data + l2_len;
		th = (void *)(ip + 1);
		if ((void *)(th + 1) > end)
			return 0;
		ipv4_write(ip, daddr, saddr, IPPROTO_TCP, 0, sizeof(*ip) + sizeof(*th));
		tcp_write_rst(th, &s);
		sum = (daddr & 0xffff) + (daddr >> 16) + (saddr & 0xffff) + (saddr >> 16) +
		      bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*th));
		th->check = ~csum_fold(csum_bytes(th, sizeof(*th), end, sum)) & 0xffff;
		return 1;
	}
	if (ip->protocol == IPPROTO_ICMP) {
		__u8 *type = data + l2_len + ihl;

		if ((void *)(type + 1) > end)
			return 0;
		/* Errors: unreachable, source quench, redirect, time exceeded,
		 * parameter problem. Never answered. */
		if (*type == 3 || *type == 4 || *type == 5 || *type == 11 || *type == 12)
			return 0;
	}

	/* ICMP administratively prohibited: grow the head by the new IP and
	 * ICMP headers; the old IP header and 8 bytes stay as the quote. */
	quote = ihl + 8 < tot_len ? ihl + 8 : tot_len;
	if (!reject_token())
		return 0;
	capture(ctx, src_rule, dst_rule, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
	{
		const __u32 grow = sizeof(struct iphdr) + sizeof(struct pw_icmphdr);
		struct pw_icmphdr *ic;

		if (reshape(ctx, l2_len, grow, l2_len + grow + quote))
			return 0;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (l2_len > PW_MAX_L2_LEN)
			return 0;
		ip = data + l2_len;
		ic = (void *)(ip + 1);
		if ((void *)(ic + 1) > end)
			return 0;
		ipv4_write(ip, daddr, saddr, IPPROTO_ICMP, 0xc0, grow + quote);
		__builtin_memset(ic, 0, sizeof(*ic));
		ic->type = PW_ICMP_DEST_UNREACH;
		ic->code = PW_ICMP_PKT_FILTERED;
		ic->checksum = ~csum_fold(csum_bytes(ic, sizeof(*ic) + quote, end, 0)) & 0xffff;
	}
	return 1;
}

static __always_inline int ipv6_unanswerable(const struct in6_addr *a)
{
	if (a->in6_u.u6_addr8[0] == 0xff)
		return 1; /* multicast */
	return !(a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] | a->in6_u.u6_addr32[2] |
		 a->in6_u.u6_addr32[3]); /* unspecified */
}

static __always_inline void ipv6_write(struct ipv6hdr *ip6, const struct in6_addr *saddr,
				       const struct in6_addr *daddr, __u8 next, __u16 payload)
{
	__builtin_memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = bpf_htons(payload);
	ip6->nexthdr = next;
	ip6->hop_limit = PW_REJECT_TTL;
	ip6->saddr = *saddr;
	ip6->daddr = *daddr;
}

static __always_inline __u32 csum_pseudo6(const struct in6_addr *s, const struct in6_addr *d,
					  __u8 next, __u32 len)
{
	return csum_addr6(s, csum_addr6(d, 0)) + bpf_htons(len) + bpf_htons(next);
}

/* IPv6: as reject_v4. Extension headers are walked (up to
 * PW_IPV6_EXT_MAX) to find TCP, an ICMPv6 error or a later fragment. */
__noinline int reject_v6(struct xdp_md *ctx, __u32 l2_len, __u32 src_rule,
			 __u32 dst_rule)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	struct in6_addr saddr, daddr;
	struct ip6_upper u;
	__u32 off, total, quote;
	__u8 next;

	if (l2_len > PW_MAX_L2_LEN || !reject_token_left())
		return 0;
	ip6 = data + l2_len;
	if ((void *)(eth + 1) > end || (void *)(ip6 + 1) > end || mac_multicast(eth))
		return 0;
	saddr = ip6->saddr;
	daddr = ip6->daddr;
	if (ipv6_unanswerable(&saddr) || ipv6_unanswerable(&daddr))
		return 0;
	total = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (ipv6_upper(ip6, end, &u) < 0 || u.later_fragment)
		return 0; /* cut short, too deep to walk, or not the first fragment */
	next = u.proto;
	off = u.off;

	if (next == IPPROTO_TCP) {
		struct tcp_seen s;
		struct tcphdr *th;
		__u32 sum;

		if (off >= total || tcp_read(data + l2_len + off, end, total - off, &s) < 0)
			return 0;
		if (!reject_token())
			return 0;
		capture(ctx, src_rule, dst_rule, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
		if (reshape(ctx, l2_len, 0, l2_len + sizeof(*ip6) + sizeof(*th)))
			return 0;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		ip6 = data + l2_len;
		th = (void *)(ip6 + 1);
		if ((void *)(th + 1) > end)
			return 0;
		ipv6_write(ip6, &daddr, &saddr, IPPROTO_TCP, sizeof(*th));
		tcp_write_rst(th, &s);
		sum = csum_pseudo6(&daddr, &saddr, IPPROTO_TCP, sizeof(*th));
		th->check = ~csum_fold(csum_bytes(th, sizeof(*th), end, sum)) & 0xffff;
		return 1;
	}
	if (next == IPPROTO_ICMPV6) {
		__u8 *type = data + l2_len + off;

		if ((void *)(type + 1) > end || *type < PW_ICMPV6_INFO_MIN)
			return 0; /* an error (or cut short): never answered */
	}

	quote = total < PW_ICMP6_MAX_QUOTE ? total : PW_ICMP6_MAX_QUOTE;
	if (!reject_token())
		return 0;
	capture(ctx, src_rule, dst_rule, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
	{
		const __u32 grow = sizeof(struct ipv6hdr) + sizeof(struct pw_icmphdr);
		struct pw_icmphdr *ic;
		__u32 sum;

		if (reshape(ctx, l2_len, grow, l2_len + grow + quote))
			return 0;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (l2_len > PW_MAX_L2_LEN)
			return 0;
		ip6 = data + l2_len;
		ic = (void *)(ip6 + 1);
		if ((void *)(ic + 1) > end)
			return 0;
		ipv6_write(ip6, &daddr, &saddr, IPPROTO_ICMPV6, sizeof(*ic) + quote);
		__builtin_memset(ic, 0, sizeof(*ic));
		ic->type = PW_ICMPV6_DEST_UNREACH;
		ic->code = PW_ICMPV6_ADM_PROHIBITED;
		sum = csum_pseudo6(&daddr, &saddr, IPPROTO_ICMPV6, sizeof(*ic) + quote);
		ic->checksum = ~csum_fold(csum_bytes(ic, sizeof(*ic) + quote, end, sum)) & 0xffff;
	}
	return 1;
}

#endif /* PW_BPF_REJECT_H */
