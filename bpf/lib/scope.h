/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rules scoped to L4 (struct pw_scope in include/prefixwall/abi.h): what of
 * a packet a scope looks at, and whether a packet fits a scope. The L4
 * header is read only when a judged address's longest match is a scoped
 * rule (bpf/lib/lookup.h resolves it), so unscoped rule sets never pay
 * for it. As Scope::fits() in controller/base/scope.cpp.
 */
#ifndef PW_BPF_SCOPE_H
#define PW_BPF_SCOPE_H

#include <linux/in.h>
#include "parsing.h"
#include "prefixwall/abi.h"

/* What a scope looks at. ports: the packet has a TCP or UDP header with
 * its ports (not a fragment after the first, not cut short). */
struct l4_info {
	__u8 proto;
	__u8 ports;
	__u16 sport, dport;
};

static __always_inline void l4_ports(struct l4_info *l, void *l4, void *end)
{
	__be16 *p = l4;

	if (l->proto != IPPROTO_TCP && l->proto != IPPROTO_UDP)
		return;
	if ((void *)(p + 2) > end)
		return;
	l->sport = bpf_ntohs(p[0]);
	l->dport = bpf_ntohs(p[1]);
	l->ports = 1;
}

/* What a scope looks at in the packet whose IP header is l3_off bytes into
 * the frame. A global function, verified once: the data plane calls it
 * only when a match is scoped. 0, or -1 (out zero: no protocol) when the
 * headers are cut short. */
__noinline int l4_read(struct xdp_md *ctx, __u32 l3_off, __u32 family, struct l4_info *out)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (!out)
		return -1;
	__builtin_memset(out, 0, sizeof(*out));
	if (l3_off > 64)
		return -1;
	if (family == PW_FAMILY_IPV4) {
		struct iphdr *ip = data + l3_off;

		if ((void *)(ip + 1) > end)
			return -1;
		out->proto = ip->protocol;
		if (!(ip->frag_off & bpf_htons(0x1fff))) /* not a later fragment */
			l4_ports(out, (void *)ip + ip->ihl * 4, end);
		return 0;
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct ip6_upper u;

		if ((void *)(ip6 + 1) > end || ipv6_upper(ip6, end, &u) < 0)
			return -1; /* or too many extension headers: no protocol */
		out->proto = u.proto;
		if (!u.later_fragment)
			l4_ports(out, (void *)ip6 + u.off, end);
		return 0;
	}
}

/* Whether a packet fits a scope (global, verified once). */
__noinline int scope_fits(const struct pw_scope *s, const struct l4_info *l)
{
	if (!s || !l)
		return 0;
	if (!s->proto)
		return 1;
	if (l->proto != s->proto)
		return 0;
	if (!s->dports && !s->sport_hi)
		return 1;
	if (!l->ports)
		return 0;
	if (s->sport_hi && (l->sport < s->sport_lo || l->sport > s->sport_hi))
		return 0;
	if (!s->dports)
		return 1;
	for (int i = 0; i < PW_SCOPE_PORT_RANGES; i++)
		if (i < s->dports && l->dport >= s->dport_lo[i] && l->dport <= s->dport_hi[i])
			return 1;
	return 0;
}

#endif /* PW_BPF_SCOPE_H */
