// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * prefixwall's XDP program: judge the source and/or destination address of
 * every IPv4 and IPv6 packet by its longest matching rule and drop the
 * packet when a judged address's longest match is a block rule (or answer
 * it and drop it, for a reject rule). A rule scoped to L4 applies only to
 * the packets that fit its scope; for the others the rule covering it
 * does (bpf/lib/scope.h).
 *
 * One object, loaded once per attachment with that attachment's settings
 * in .rodata (match, dry-run, malformed policy, lookup engine, reject rate), all loads
 * sharing the pinned maps of bpf/lib/maps.h. The lookup itself is
 * bpf/lib/lookup.h, shared with the benchmark programs.
 */
#include "lib/parsing.h"
#include "lib/maps.h"
#include "lib/lookup.h"
#include "lib/counters.h"
#include "lib/reject.h"
#include "lib/capture.h"

const volatile __u8 cfg_match = PW_MATCH_BOTH;
const volatile __u8 cfg_dry_run = 0;
const volatile __u8 cfg_malformed_drop = 0;
const volatile __u8 cfg_record_last = 0;

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
 * once; the packet gets one outcome in the global counters. Block beats
 * reject (no answer is the narrower promise), either beats monitor and
 * allow. A reject turns the frame into its answer (bpf/lib/reject.h),
 * l2_len bytes of Ethernet and VLAN tags before the IP header. */
static __always_inline int decide(struct xdp_md *ctx, __u32 l2_len, struct hit *src,
				  struct hit *dst, __u32 family, __u64 bytes)
{
	__u8 sa = src->action, da = dst->action;
	__u32 src_rule = sa ? src->rule_id : 0, dst_rule = da ? dst->rule_id : 0;
	__u32 outcome;
	int verdict = XDP_PASS, captured = 0;

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
	} else if (sa == PW_ACTION_REJECT || da == PW_ACTION_REJECT) {
		if (cfg_dry_run) {
			outcome = PW_OUTCOME_MONITORED;
		} else if (family == PW_FAMILY_IPV4 ? reject_v4(ctx, l2_len, src_rule, dst_rule)
						    : reject_v6(ctx, l2_len, src_rule, dst_rule)) {
			outcome = PW_OUTCOME_REJECTED;
			verdict = XDP_TX;
			captured = 1; /* before the frame became the answer */
		} else {
			outcome = PW_OUTCOME_DROPPED; /* never answered, or over the rate */
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
	if (!captured)
		capture(ctx, src_rule, dst_rule, family, outcome);
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
		__u32 l2_len;

		if (!ip)
			return malformed(PW_FAMILY_IPV4, bytes);
		l2_len = ptr_gap((void *)(long)ctx->data, ip);
		version = version_v4();
		if (version && (cfg_match & PW_MATCH_SRC))
			src = lookup_v4(version, ip->saddr);
		if (version && (cfg_match & PW_MATCH_DST))
			dst = lookup_v4(version, ip->daddr);
		if (src.action == PW_ACTION_SCOPED || dst.action == PW_ACTION_SCOPED) {
			struct l4_info l4;

			l4_read(ctx, l2_len, PW_FAMILY_IPV4, &l4);

			src = resolve_v4(version, ip->saddr, src, &l4);
			dst = resolve_v4(version, ip->daddr, dst, &l4);
		}
		return decide(ctx, l2_len, &src, &dst, PW_FAMILY_IPV4, bytes);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ip6hdr(&c);
		__u32 l2_len;

		if (!ip6)
			return malformed(PW_FAMILY_IPV6, bytes);
		l2_len = ptr_gap((void *)(long)ctx->data, ip6);
		version = version_v6();
		if (version && (cfg_match & PW_MATCH_SRC))
			src = lookup_v6(version, &ip6->saddr);
		if (version && (cfg_match & PW_MATCH_DST))
			dst = lookup_v6(version, &ip6->daddr);
		if (src.action == PW_ACTION_SCOPED || dst.action == PW_ACTION_SCOPED) {
			struct l4_info l4;

			l4_read(ctx, l2_len, PW_FAMILY_IPV6, &l4);

			src = resolve_v6(version, &ip6->saddr, src, &l4);
			dst = resolve_v6(version, &ip6->daddr, dst, &l4);
		}
		return decide(ctx, l2_len, &src, &dst, PW_FAMILY_IPV6, bytes);
	}

	count_global(PW_FAMILY_OTHER, PW_OUTCOME_NON_IP, bytes);
	if (cfg_record_last) {
		struct hit none = {};

		record_last(&none, &none, XDP_PASS, PW_OUTCOME_NON_IP);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
