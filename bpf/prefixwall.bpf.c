// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * prefixwall's XDP program: judge the source and/or destination address of
 * every IPv4 and IPv6 packet by its longest matching rule and drop the
 * packet when a judged address's longest match is a block rule.
 *
 * One object, loaded once per attachment with that attachment's settings
 * in .rodata (match, dry-run, malformed policy, lookup engine), all loads
 * sharing the pinned maps of bpf/lib/maps.h. The engine is a constant, so
 * the verifier drops the other engine's code from each instance.
 */
#include "lib/parsing.h"
#include "lib/maps.h"
#include "lib/counters.h"
#include "lib/compiled.h"

const volatile __u8 cfg_match = PW_MATCH_BOTH;
const volatile __u8 cfg_dry_run = 0;
const volatile __u8 cfg_malformed_drop = 0;
const volatile __u8 cfg_record_last = 0;
const volatile __u8 cfg_engine = PW_ENGINE_COMPILED;

static __always_inline struct hit trie_hit(struct pw_rule_value *v)
{
	struct hit h = {};

	if (v) {
		h.slot = &v->counter_slot;
		h.rule_id = v->rule_id;
		h.action = v->action;
	}
	return h;
}

static __always_inline struct hit compiled_hit(struct cl_hit c)
{
	struct hit h = {};

	if (c.result && c.action) {
		h.slot = (__u32 *)c.result + 1;
		h.rule_id = (__u32)*c.result;
		h.action = c.action;
	}
	return h;
}

/* The rule version in force for a family: the engine's outer slot, read
 * once per packet so that both addresses are judged by the same version
 * (a swap between the two lookups would otherwise judge the source by one
 * version and the destination by the next). */
static __always_inline void *version_v4(void)
{
	__u32 zero = 0;

	if (cfg_engine == PW_ENGINE_COMPILED)
		return bpf_map_lookup_elem(&compiled_v4, &zero);
	return bpf_map_lookup_elem(&active_v4, &zero);
}

static __always_inline void *version_v6(void)
{
	__u32 zero = 0;

	if (cfg_engine == PW_ENGINE_COMPILED)
		return bpf_map_lookup_elem(&compiled_v6, &zero);
	return bpf_map_lookup_elem(&active_v6, &zero);
}

static __always_inline struct hit lookup_v4(void *version, __be32 addr)
{
	if (cfg_engine == PW_ENGINE_COMPILED) {
		return compiled_hit(cl_lookup(version, (__u64)bpf_ntohl(addr) << 32, 0,
					      PW_CL_V4_LEVELS));
	} else {
		struct pw_key_v4 key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, &addr, sizeof(key.addr));
		return trie_hit(bpf_map_lookup_elem(version, &key));
	}
}

static __always_inline struct hit lookup_v6(void *version, const struct in6_addr *addr)
{
	if (cfg_engine == PW_ENGINE_COMPILED) {
		__u64 hi = ((__u64)bpf_ntohl(addr->in6_u.u6_addr32[0]) << 32) |
			   bpf_ntohl(addr->in6_u.u6_addr32[1]);
		__u64 lo = ((__u64)bpf_ntohl(addr->in6_u.u6_addr32[2]) << 32) |
			   bpf_ntohl(addr->in6_u.u6_addr32[3]);

		return compiled_hit(cl_lookup(version, hi, lo, PW_CL_MAX_LEVELS));
	} else {
		struct pw_key_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, addr, sizeof(key.addr));
		return trie_hit(bpf_map_lookup_elem(version, &key));
	}
}

static __always_inline void record_last(struct hit *src, struct hit *dst,
					__u32 verdict, __u32 outcome)
{
	__u32 zero = 0;
	struct pw_last_match *last = bpf_map_lookup_elem(&last_match, &zero);

	if (!last)
		return;
	last->src_rule_id = src->action ? src->rule_id : 0;
	last->dst_rule_id = dst->action ? dst->rule_id : 0;
	last->verdict = verdict;
	last->outcome = outcome;
}

/* The verdict for a packet whose judged addresses matched src and dst
 * (action NONE: not judged, or no rule). Every matched rule is counted
 * once; the packet gets one outcome in the global counters. */
static __always_inline int decide(struct hit *src, struct hit *dst,
				  __u32 family, __u64 bytes)
{
	__u8 sa = src->action, da = dst->action;
	__u32 outcome;
	int verdict = XDP_PASS;

	if (sa)
		count_rule(src, bytes);
	if (da && (!sa || dst->rule_id != src->rule_id))
		count_rule(dst, bytes);

	if (sa == PW_ACTION_BLOCK || da == PW_ACTION_BLOCK) {
		if (cfg_dry_run) {
			outcome = PW_OUTCOME_MONITORED;
		} else {
			outcome = PW_OUTCOME_DROPPED;
			verdict = XDP_DROP;
		}
	} else if (sa == PW_ACTION_MONITOR || da == PW_ACTION_MONITOR) {
		outcome = PW_OUTCOME_MONITORED;
	} else if (sa == PW_ACTION_ALLOW || da == PW_ACTION_ALLOW) {
		outcome = PW_OUTCOME_ALLOWED;
	} else {
		outcome = PW_OUTCOME_PASSED;
	}
	count_global(family, outcome, bytes);
	if (cfg_record_last)
		record_last(src, dst, verdict, outcome);
	return verdict;
}

static __always_inline int malformed(__u32 family, __u64 bytes)
{
	struct hit none = {};
	int verdict = cfg_malformed_drop ? XDP_DROP : XDP_PASS;

	count_global(family, PW_OUTCOME_MALFORMED, bytes);
	if (cfg_record_last)
		record_last(&none, &none, verdict, PW_OUTCOME_MALFORMED);
	return verdict;
}

SEC("xdp")
int prefixwall_xdp(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	__u64 bytes = c.end - c.pos;
	struct hit src = {}, dst = {};
	void *version;
	int proto = parse_ethhdr(&c);

	if (proto < 0)
		return malformed(PW_FAMILY_OTHER, bytes);

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = parse_iphdr(&c);

		if (!ip)
			return malformed(PW_FAMILY_IPV4, bytes);
		version = version_v4();
		if (version && (cfg_match & PW_MATCH_SRC))
			src = lookup_v4(version, ip->saddr);
		if (version && (cfg_match & PW_MATCH_DST))
			dst = lookup_v4(version, ip->daddr);
		return decide(&src, &dst, PW_FAMILY_IPV4, bytes);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ip6hdr(&c);

		if (!ip6)
			return malformed(PW_FAMILY_IPV6, bytes);
		version = version_v6();
		if (version && (cfg_match & PW_MATCH_SRC))
			src = lookup_v6(version, &ip6->saddr);
		if (version && (cfg_match & PW_MATCH_DST))
			dst = lookup_v6(version, &ip6->daddr);
		return decide(&src, &dst, PW_FAMILY_IPV6, bytes);
	}

	count_global(PW_FAMILY_OTHER, PW_OUTCOME_NON_IP, bytes);
	if (cfg_record_last) {
		struct hit none = {};

		record_last(&none, &none, XDP_PASS, PW_OUTCOME_NON_IP);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
