/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compiled engine's lookup: a walk of the copy described in
 * include/prefixwall/abi.h (PW_CL_*), built by controller/kernel/compiled_copy.cpp.
 * controller/kernel/compiled_table.cpp has the same walk in userspace
 * (section_leaf) and the tests hold both to the rule set's reference lookup.
 *
 * The verdict section is walked first; the rule section only when the
 * verdict is an action. Every word is read through bpf_map_lookup_elem on
 * the copy in force; the verifier inlines that for an array (a bounds
 * check and an add), so a walk is a few loads: the direct entry, one node
 * per 6 (rules) or 8 (verdict) key bits below it while the subtree still
 * branches, then a leaf
 * (and a tail compare when the subtree holds a single longer prefix).
 */
#ifndef PW_BPF_COMPILED_H
#define PW_BPF_COMPILED_H

#include "maps.h"
#include "scope.h"

/* What a lookup found: the rule's word in compiled_results (rule id |
 * counter slot << 32) and its action; action 0 means no rule matched.
 * PW_ACTION_SCOPED: the verdict's leaf names a scope record (leaf), to be
 * resolved for the packet by cl_resolve(). */
struct cl_hit {
	__u64 *result;
	__u8 action;
	__u32 leaf; /* scoped: the verdict's leaf naming the scope record */
};

static __always_inline __u64 *cl_word(void *table, __u32 idx)
{
	return bpf_map_lookup_elem(table, &idx);
}

/* The u32 at index i of a table packed two per word from word `off`. */
static __always_inline int cl_u32(void *table, __u32 off, __u32 i, __u32 *out)
{
	__u64 *w = cl_word(table, off + (i >> 1));

	if (!w)
		return -1;
	*out = (__u32)(*w >> ((i & 1) * 32));
	return 0;
}

/* Population count without a popcnt instruction (BPF has none). */
static __always_inline __u32 cl_popcount(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (__u32)((x * 0x0101010101010101ULL) >> 56);
}

/* The `width` key bits at bit offset `off` of hi:lo (bits past 128 read
 * as 0); as chunk() in controller/kernel/compiled_table.cpp. */
static __always_inline __u32 cl_chunk(__u64 hi, __u64 lo, __u32 off, const __u32 width)
{
	__u32 end = off + width, mask = (1u << width) - 1;

	if (end <= 64)
		return (__u32)(hi >> ((64 - end) & 63)) & mask;
	if (off >= 64) {
		if (end <= 128)
			return (__u32)(lo >> ((128 - end) & 63)) & mask;
		return (__u32)(lo << ((end - 128) & 63)) & mask;
	}
	return (__u32)((hi << ((end - 64) & 63)) | (lo >> ((128 - end) & 63))) & mask;
}

static __always_inline int cl_tail_match(void *table, __u32 tails, __u32 idx,
					 __u64 hi, __u64 lo, __u32 *leaf)
{
	__u32 base = tails + idx * 4;
	__u64 *thi = cl_word(table, base);
	__u64 *tlo = cl_word(table, base + 1);
	__u64 *tlen = cl_word(table, base + 2);
	__u64 *tleaves = cl_word(table, base + 3);
	__u64 mhi, mlo;
	__u32 len;

	if (!thi || !tlo || !tlen || !tleaves)
		return -1;
	len = (__u32)*tlen & 255;
	if (len <= 64) {
		mhi = len ? ~0ULL << ((64 - len) & 63) : 0;
		mlo = 0;
	} else {
		mhi = ~0ULL;
		mlo = ~0ULL << ((128 - len) & 63);
	}
	if (((hi ^ *thi) & mhi) == 0 && ((lo ^ *tlo) & mlo) == 0)
		*leaf = (__u32)*tleaves;
	else
		*leaf = (__u32)(*tleaves >> 32);
	return 0;
}

/* The leaf of the longest match of the 128-bit key hi:lo in the section
 * at word `base` whose direct table has `db` bits and whose nodes judge
 * `width` bits (0: no rule). `levels` bounds the walk (PW_CL_V4_LEVELS
 * for IPv4, PW_CL_MAX_LEVELS for IPv6). */
static __always_inline __u32 cl_leaf(void *table, __u32 base, const __u32 db, const __u32 width,
				     __u64 hi, __u64 lo, const int levels)
{
	const __u32 vw = PW_CL_VEC_WORDS(width);
	__u32 leaf, entry, off = db, i;

	/* No magic check: a copy is written only while no program reads it,
	 * and an unpublished (all-zero) copy has no nodes and matches nothing. */
	if (cl_u32(table, base + PW_CL_DIRECT_OFF, (__u32)(hi >> (64 - db)), &entry))
		return 0;
	leaf = entry;
	if (entry & PW_CL_NODE) {
		__u64 *leaves_off = cl_word(table, base + PW_CL_H_LEAVES);
		__u32 node = entry & ~PW_CL_NODE;

		if (!leaves_off)
			return 0;
		for (i = 0; i < levels; i++) {
			__u32 w = base + PW_CL_NODES_OFF(db) + node * PW_CL_NODE_WORDS(width);
			__u32 v = cl_chunk(hi, lo, off, width);
			__u32 k = vw > 1 ? v >> 6 : 0, bit = v & 63;
			__u64 below = (2ULL << bit) - 1;
			__u64 *vec = cl_word(table, w + k);
			__u64 *nbase = cl_word(table, w + 2 * vw);
			__u64 *counts, *lvec;

			if (!vec || !nbase)
				return 0;
			if ((*vec >> bit) & 1) {
				node = (__u32)(*nbase >> 32) + cl_popcount(*vec & below) - 1;
				if (vw > 1) {
					counts = cl_word(table, w + 2 * vw + 1);
					if (!counts)
						return 0;
					node += (__u32)(*counts >> (8 * k)) & 255;
				}
				off += width;
				continue;
			}
			lvec = cl_word(table, w + vw + k);
			if (!lvec)
				return 0;
			leaf = (__u32)*nbase + cl_popcount(*lvec & below) - 1;
			if (vw > 1) {
				counts = cl_word(table, w + 2 * vw + 1);
				if (!counts)
					return 0;
				leaf += (__u32)(*counts >> (32 + 8 * k)) & 255;
			}
			if (cl_u32(table, base + (__u32)*leaves_off, leaf, &leaf))
				return 0;
			break;
		}
		if (i == levels)
			return 0; /* deeper than a valid table goes */
	}
	if (leaf & PW_CL_TAIL) {
		__u64 *tails = cl_word(table, base + PW_CL_H_TAILS);

		if (!tails || cl_tail_match(table, base + (__u32)*tails, leaf & PW_CL_INDEX_MASK,
					    hi, lo, &leaf))
			return 0;
	}
	return leaf;
}

/* The word at which the verdict section starts (0: unpublished). */
static __always_inline __u32 cl_verdict_base(void *table)
{
	__u32 at = PW_CL_H_VERDICT;
	__u64 *base = bpf_map_lookup_elem(table, &at);

	return base ? (__u32)*base : 0;
}

/* The verdict section's leaf for hi:lo: its action (PW_ACTION_NONE: no
 * rule) and, for a rule with no rule inside it (or a scoped rule: its
 * scope record), the rule's result index. */
static __always_inline __u32 cl_verdict_leaf(void *table, __u32 base, __u64 hi, __u64 lo,
					     const int levels)
{
	if (!base)
		return 0; /* unpublished */
	return cl_leaf(table, base, PW_CL_VERDICT_DIRECT_BITS, PW_CL_VERDICT_STRIDE, hi, lo, levels);
}

static __always_inline __u8 cl_verdict(void *table, __u64 hi, __u64 lo, const int levels)
{
	return (cl_verdict_leaf(table, cl_verdict_base(table), hi, lo, levels) >> PW_CL_ACTION_SHIFT) &
	       PW_CL_ACTION_MASK;
}

/* A rule section leaf's rule: its word in compiled_results and action. */
static __always_inline struct cl_hit cl_result(__u32 leaf)
{
	struct cl_hit hit = {};
	__u32 idx = leaf & PW_CL_INDEX_MASK;
	__u8 action = (leaf >> PW_CL_ACTION_SHIFT) & PW_CL_ACTION_MASK;

	if (!idx || !action || action == PW_ACTION_SCOPED)
		return hit;
	hit.result = bpf_map_lookup_elem(&compiled_results, &idx);
	if (hit.result)
		hit.action = action;
	return hit;
}

/* The longest match and its rule's word in compiled_results: the verdict
 * first, the rule section only when it is an action whose leaf does not
 * name the rule. */
static __always_inline struct cl_hit cl_lookup(void *table, __u64 hi, __u64 lo,
					       const int levels)
{
	struct cl_hit hit = {};
	__u32 leaf = cl_verdict_leaf(table, cl_verdict_base(table), hi, lo, levels);
	__u8 action = (leaf >> PW_CL_ACTION_SHIFT) & PW_CL_ACTION_MASK;

	if (!action)
		return hit;
	if (action == PW_ACTION_SCOPED) {
		/* A scope record in the verdict: resolved for the packet by
		 * cl_resolve() (a scoped leaf in the rule section names no rule,
		 * and cl_result() finds none for it). */
		hit.action = PW_ACTION_SCOPED;
		hit.leaf = leaf;
		return hit;
	}
	if (!(leaf & PW_CL_INDEX_MASK))
		leaf = cl_leaf(table, 0, PW_CL_RULE_DIRECT_BITS, PW_CL_RULE_STRIDE, hi, lo, levels);
	return cl_result(leaf);
}

/* A scoped leaf resolved for a packet (its records among the verdict
 * section's tails): each scope record on the way gives
 * its rule's own leaf when the packet fits its scope, else the covering
 * rule's (at most PW_SCOPE_DEPTH records: the controller builds no longer
 * chain). */
static __always_inline struct cl_hit cl_resolve(void *table, __u32 leaf, const struct l4_info *l4)
{
	struct cl_hit none = {};
	__u32 section = cl_verdict_base(table);
	__u64 *tails = cl_word(table, section + PW_CL_H_TAILS);

	if (!section || !tails)
		return none;
	for (int i = 0; i < PW_SCOPE_DEPTH; i++) {
		__u32 base = section + (__u32)*tails + (leaf & PW_CL_INDEX_MASK) * 4;
		__u64 *own, *w1, *w2, *w3;
		__u64 w[3];
		struct pw_scope s;

		if (((leaf >> PW_CL_ACTION_SHIFT) & PW_CL_ACTION_MASK) != PW_ACTION_SCOPED)
			break;
		own = cl_word(table, base);
		w1 = cl_word(table, base + 1);
		w2 = cl_word(table, base + 2);
		w3 = cl_word(table, base + 3);
		if (!own || !w1 || !w2 || !w3)
			return none;
		w[0] = *w1;
		w[1] = *w2;
		w[2] = *w3;
		__builtin_memcpy(&s, w, sizeof(s));
		leaf = scope_fits(&s, l4) ? (__u32)*own : (__u32)(*own >> 32);
	}
	return cl_result(leaf);
}

#endif /* PW_BPF_COMPILED_H */
