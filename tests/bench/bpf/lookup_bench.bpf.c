// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lookup cost alone: one run walks `bench_addrs` (>= 1M addresses) with
 * bpf_loop and looks each up with one engine, over the pinned maps of a
 * prefixwall pin directory, with the XDP program's lookup (bpf/lib/lookup.h).
 * Run by tests/bench/lookup_bench.cpp through
 * BPF_PROG_TEST_RUN; ns per address = run time / addresses. Engine
 * BENCH_NONE reads the address and nothing else: the loop's own cost.
 * With cfg_record set (tests/bpf/corpus_differential.cpp) the rule id each
 * address matched goes to bench_out instead.
 */
#include "../../../bpf/lib/lookup.h"

#define BENCH_NONE 2

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

const volatile __u8 cfg_record = 0;
const volatile __u8 cfg_v6 = 0;
const volatile __u32 cfg_count = 1 << 20;

__u64 bench_sum = 0; /* keeps the lookups from being optimised away */

struct loop_ctx {
	__u64 sum;
};

/* One address, with the XDP program's own lookup (bpf/lib/lookup.h): the
 * version in force, then the engine's longest match. The matched rule's
 * id goes to bench_out (cfg_record), or its action into the sum. */
static long one(__u32 i, struct loop_ctx *lc)
{
	struct bench_addr *ba = bpf_map_lookup_elem(&bench_addrs, &i);
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
	if (cfg_v6) {
		h = lookup_v6(version, (const struct in6_addr *)ba->a);
	} else {
		__be32 addr;

		__builtin_memcpy(&addr, ba->a, sizeof(addr));
		h = lookup_v4(version, addr);
	}
	if (cfg_record) {
		__u32 *out = bpf_map_lookup_elem(&bench_out, &i);

		if (!out)
			return 1;
		*out = h.action ? h.rule_id : 0;
		return 0;
	}
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
