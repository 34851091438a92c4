// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lookup cost alone: one run walks `bench_addrs` (>= 1M addresses) with
 * bpf_loop and looks each up with one engine, over the pinned maps of a
 * prefixwall pin directory. Run by tests/bench/lookup_bench.cpp through
 * BPF_PROG_TEST_RUN; ns per address = run time / addresses. Engine
 * BENCH_NONE reads the address and nothing else: the loop's own cost.
 * With cfg_record set (tests/bpf/corpus_differential.cpp) the rule id each
 * address matched goes to bench_out instead.
 */
#include "../../../bpf/lib/maps.h"
#include "../../../bpf/lib/compiled.h"
#include <bpf/bpf_endian.h>

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

const volatile __u8 cfg_engine = PW_ENGINE_COMPILED;
const volatile __u8 cfg_record = 0;
const volatile __u8 cfg_v6 = 0;
const volatile __u32 cfg_count = 1 << 20;

__u64 bench_sum = 0; /* keeps the lookups from being optimised away */

struct loop_ctx {
	__u64 sum;
};

/* One address, the way the XDP program does it: the outer slot, then the
 * engine's lookup. */
static long one(__u32 i, struct loop_ctx *lc)
{
	struct bench_addr *ba = bpf_map_lookup_elem(&bench_addrs, &i);
	__u32 zero = 0;
	void *map;

	if (!ba)
		return 1;
	if (cfg_engine == BENCH_NONE) {
		lc->sum += ba->a[3];
		return 0;
	}
	if (cfg_engine == PW_ENGINE_COMPILED)
		map = bpf_map_lookup_elem(cfg_v6 ? (void *)&compiled_v6 : (void *)&compiled_v4, &zero);
	else
		map = bpf_map_lookup_elem(cfg_v6 ? (void *)&active_v6 : (void *)&active_v4, &zero);
	if (!map)
		return 1;
	if (cfg_record) {
		__u32 *out = bpf_map_lookup_elem(&bench_out, &i);
		__u32 id = 0;

		if (!out)
			return 1;
		if (cfg_engine == PW_ENGINE_COMPILED) {
			__u64 hi = ((__u64)bpf_ntohl(*(__u32 *)&ba->a[0]) << 32), lo = 0;
			struct cl_hit h;

			if (cfg_v6) {
				hi |= bpf_ntohl(*(__u32 *)&ba->a[4]);
				lo = ((__u64)bpf_ntohl(*(__u32 *)&ba->a[8]) << 32) |
				     bpf_ntohl(*(__u32 *)&ba->a[12]);
				h = cl_lookup(map, hi, lo, PW_CL_MAX_LEVELS);
			} else {
				h = cl_lookup(map, hi, 0, PW_CL_V4_LEVELS);
			}
			if (h.result)
				id = (__u32)*h.result;
		} else if (cfg_v6) {
			struct pw_key_v6 key = { .prefixlen = 128 };
			struct pw_rule_value *v;

			__builtin_memcpy(key.addr, ba->a, 16);
			v = bpf_map_lookup_elem(map, &key);
			if (v)
				id = v->rule_id;
		} else {
			struct pw_key_v4 key = { .prefixlen = 32 };
			struct pw_rule_value *v;

			__builtin_memcpy(key.addr, ba->a, 4);
			v = bpf_map_lookup_elem(map, &key);
			if (v)
				id = v->rule_id;
		}
		*out = id;
		return 0;
	}
	if (cfg_engine == PW_ENGINE_COMPILED) {
		/* The lookup ends at the leaf: the rule's action and index. The
		 * rule's result word is read only to count a hit. */
		__u64 hi, lo = 0;

		if (cfg_v6) {
			hi = ((__u64)bpf_ntohl(*(__u32 *)&ba->a[0]) << 32) | bpf_ntohl(*(__u32 *)&ba->a[4]);
			lo = ((__u64)bpf_ntohl(*(__u32 *)&ba->a[8]) << 32) | bpf_ntohl(*(__u32 *)&ba->a[12]);
			lc->sum += cl_leaf(map, hi, lo, PW_CL_MAX_LEVELS);
		} else {
			hi = (__u64)bpf_ntohl(*(__u32 *)&ba->a[0]) << 32;
			lc->sum += cl_leaf(map, hi, 0, PW_CL_V4_LEVELS);
		}
		return 0;
	}
	if (cfg_v6) {
		struct pw_key_v6 key = { .prefixlen = 128 };
		struct pw_rule_value *v;

		__builtin_memcpy(key.addr, ba->a, 16);
		v = bpf_map_lookup_elem(map, &key);
		lc->sum += v != NULL;
	} else {
		struct pw_key_v4 key = { .prefixlen = 32 };
		struct pw_rule_value *v;

		__builtin_memcpy(key.addr, ba->a, 4);
		v = bpf_map_lookup_elem(map, &key);
		lc->sum += v != NULL;
	}
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
