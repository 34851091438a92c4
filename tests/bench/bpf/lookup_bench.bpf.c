// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lookup cost alone: one run walks `bench_addrs` (>= 1M addresses) with
 * bpf_loop and looks each up with one engine, over the pinned maps of a
 * prefixwall pin directory, with the XDP program's lookup (bpf/lib/lookup.h).
 * Run by tests/bench/lookup_bench.cpp through
 * BPF_PROG_TEST_RUN; ns per address = run time / addresses. Engine
 * BENCH_NONE reads the address and nothing else: the loop's own cost.
 * With cfg_record set (tests/bpf/corpus_differential.cpp) the rule id each
 * address matched goes to bench_out instead (and its verdict to
 * bench_verdict).
 *
 * cfg_stage picks what of the compiled engine's path runs per address, to
 * say what each step costs: the verdict section alone, the rule section
 * alone (and the result word: the path before the verdict existed), the
 * whole lookup (verdict, then rule), or the lookup and the rule's counter.
 * With cfg_chained each address's index depends on the previous result,
 * as packets are served one after another (no overlap of lookups).
 */
#include "../../../bpf/lib/parsing.h"
#include "../../../bpf/lib/lookup.h"
#include "../../../bpf/lib/counters.h"

#define BENCH_NONE 2

enum bench_stage {
	STAGE_LOOKUP = 0,  /* lookup_v4/v6, as the XDP program */
	STAGE_VERDICT = 1, /* the verdict section alone */
	STAGE_RULES = 2,   /* the rule section and result word alone */
	STAGE_COUNTED = 3, /* the lookup and the matched rule's counter */
};

struct bench_addr {
	__u8 a[16]; /* network order; IPv4 in the first 4 bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bench_addr);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_MMAPABLE);
} bench_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1 << 20);
} bench_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1 << 20);
} bench_verdict SEC(".maps");

const volatile __u8 cfg_record = 0;
const volatile __u8 cfg_v6 = 0;
const volatile __u8 cfg_stage = STAGE_LOOKUP;
const volatile __u8 cfg_chained = 0;
const volatile __u32 cfg_count = 1 << 20;

__u64 bench_sum = 0; /* keeps the lookups from being optimised away */

struct loop_ctx {
	__u64 sum;
	__u32 prev; /* the previous result (cfg_chained) */
};

static __always_inline void keys_of(struct bench_addr *ba, __u64 *hi, __u64 *lo)
{
	__u32 w[4];

	__builtin_memcpy(w, ba->a, sizeof(w));
	if (cfg_v6) {
		*hi = ((__u64)bpf_ntohl(w[0]) << 32) | bpf_ntohl(w[1]);
		*lo = ((__u64)bpf_ntohl(w[2]) << 32) | bpf_ntohl(w[3]);
	} else {
		*hi = (__u64)bpf_ntohl(w[0]) << 32;
		*lo = 0;
	}
}

/* One stage of the compiled path that is not the whole lookup. */
static __always_inline __u32 stage(void *version, struct bench_addr *ba)
{
	const int levels = cfg_v6 ? PW_CL_MAX_LEVELS : PW_CL_V4_LEVELS;
	__u64 hi, lo, *result;
	__u32 leaf, idx;

	keys_of(ba, &hi, &lo);
	if (cfg_stage == STAGE_VERDICT)
		return cl_verdict(version, hi, lo, levels);
	leaf = cl_leaf(version, 0, PW_CL_RULE_DIRECT_BITS, PW_CL_RULE_STRIDE, hi, lo, levels);
	idx = leaf & PW_CL_INDEX_MASK;
	if (!idx)
		return 0;
	result = bpf_map_lookup_elem(&compiled_results, &idx);
	return result ? (__u32)*result : 0;
}

/* One address, with the XDP program's own lookup (bpf/lib/lookup.h): the
 * version in force, then the engine's longest match. The matched rule's
 * id goes to bench_out (cfg_record), or its action into the sum. */
static long one(__u32 i, struct loop_ctx *lc)
{
	__u32 at = cfg_chained ? i ^ (lc->prev & 1) : i;
	struct bench_addr *ba = bpf_map_lookup_elem(&bench_addrs, &at);
	struct hit h;
	void *version;

	if (!ba)
		return 1;
	if (cfg_engine == BENCH_NONE) {
		lc->sum += ba->a[3];
		return 0;
	}
	version = cfg_v6 ? version_v6() : version_v4();
	if (!version)
		return 1;
	if (cfg_engine == PW_ENGINE_COMPILED &&
	    (cfg_stage == STAGE_VERDICT || cfg_stage == STAGE_RULES)) {
		lc->prev = stage(version, ba);
		lc->sum += lc->prev;
		return 0;
	}
	if (cfg_v6) {
		h = lookup_v6(version, (const struct in6_addr *)ba->a);
	} else {
		__be32 addr;

		__builtin_memcpy(&addr, ba->a, sizeof(addr));
		h = lookup_v4(version, addr);
	}
	if (cfg_record) {
		__u32 *out = bpf_map_lookup_elem(&bench_out, &i);
		__u32 *verdict = bpf_map_lookup_elem(&bench_verdict, &i);
		__u64 hi, lo;

		if (!out || !verdict)
			return 1;
		*out = h.action ? h.rule_id : 0;
		keys_of(ba, &hi, &lo);
		*verdict = cfg_engine == PW_ENGINE_COMPILED
				   ? cl_verdict(version, hi, lo, cfg_v6 ? PW_CL_MAX_LEVELS : PW_CL_V4_LEVELS)
				   : h.action;
		return 0;
	}
	if (cfg_stage == STAGE_COUNTED && h.action)
		count_rule(&h, 64);
	lc->prev = h.action;
	lc->sum += h.action;
	return 0;
}

SEC("xdp")
int lookup_bench(struct xdp_md *ctx)
{
	struct loop_ctx lc = {};

	bpf_loop(cfg_count, one, &lc, 0);
	bench_sum = lc.sum;
	return XDP_PASS;
}

/* The reference for the whole XDP program per frame: the same header
 * parsing as prefixwall_xdp (bpf/lib/parsing.h), then pass. */
SEC("xdp")
int parse_pass(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	int proto = parse_ethhdr(&c);

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = parse_iphdr(&c);

		if (ip)
			bench_sum += ip->saddr;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ip6hdr(&c);

		if (ip6)
			bench_sum += ip6->saddr.in6_u.u6_addr32[3];
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
