/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Counting. Global counters are a per-CPU array by family and outcome.
 * Per-rule counters live in counter slots that a rule takes the first time
 * it sees traffic, so memory follows the rules that are hit, not the rules
 * in force (2M rules on 64 CPUs would otherwise cost 2 GB).
 *
 * Taking a slot: pop the free-slot ring (compare-and-swap on head; a lost
 * race counts this packet in the overflow slot 0 and the next packet tries
 * again), record the owner, then publish the slot in the rule value with a
 * compare-and-swap. If another CPU published first, both slots belong to
 * the rule (slot_owner says so) and the controller sums them.
 */
#ifndef PW_BPF_COUNTERS_H
#define PW_BPF_COUNTERS_H

#include "maps.h"
#include "lookup.h"

/* Ring size minus one (the ring size is a power of two). */
const volatile __u32 cfg_slot_mask = 0;

static __always_inline void count_global(__u32 family, __u32 outcome,
					 __u64 bytes)
{
	__u32 idx = family * PW_OUTCOME_MAX + outcome;
	struct pw_counter *c = bpf_map_lookup_elem(&global_counters, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline __u32 take_slot(__u32 rule_id)
{
	__u32 head_idx = 0, tail_idx = 1, ring_idx, slot;
	__u64 *head = bpf_map_lookup_elem(&slot_ring_ctl, &head_idx);
	__u64 *tail = bpf_map_lookup_elem(&slot_ring_ctl, &tail_idx);
	__u64 h;
	__u32 *entry, *owner;

	if (!head || !tail)
		return 0;
	h = *(volatile __u64 *)head;
	if (h >= *(volatile __u64 *)tail)
		return 0; /* ring empty: overflow slot */
	ring_idx = (__u32)h & cfg_slot_mask;
	entry = bpf_map_lookup_elem(&slot_ring, &ring_idx);
	if (!entry)
		return 0;
	slot = *entry;
	if (__sync_val_compare_and_swap(head, h, h + 1) != h)
		return 0;
	owner = bpf_map_lookup_elem(&slot_owner, &slot);
	if (!owner)
		return 0;
	*owner = rule_id;
	return slot;
}

/* A judged address's longest match, whichever engine found it. */
static __always_inline void count_rule(struct hit *h, __u64 bytes)
{
	__u32 slot;
	struct pw_counter *c;

	if (!h->slot)
		return; /* not a rule (an unresolved scoped match never gets here) */
	slot = *h->slot;
	if (!slot) {
		slot = take_slot(h->rule_id);
		if (slot) {
			__u32 prev = __sync_val_compare_and_swap(h->slot, 0, slot);
			(void)prev; /* lost: both slots are owned by the rule */
		}
	}
	c = bpf_map_lookup_elem(&rule_counters, &slot);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif /* PW_BPF_COUNTERS_H */
