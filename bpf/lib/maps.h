/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's maps. Sizes here are placeholders: the controller sets
 * max_entries before load (controller/kernel/pin_layout.hpp lists them) and pins every map
 * under the pin directory, so all attached interfaces share one rule set
 * and one set of counters.
 */
#ifndef PW_BPF_MAPS_H
#define PW_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "prefixwall/abi.h"

/*
 * Rule versions. Each family has two LPM tries (rules_v4_0/1, created and
 * pinned by the controller) and an outer array that points at the one in
 * force. A sync writes the idle trie, then swaps the outer slot: updating
 * a map-in-map from userspace waits for every running program to finish
 * (synchronize_rcu), so when the swap returns no packet is still being
 * judged by the old trie, and the controller brings that one up to date.
 * A packet reads the outer slot once and judges both its addresses with
 * the same trie: it sees one whole version, never a half-applied one.
 */
/* Sizes, not BTF types: the controller creates the tries without BTF, and
 * an inner-map template must match them. */
struct trie_v4 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(key_size, sizeof(struct pw_key_v4));
	__uint(value_size, sizeof(struct pw_rule_value));
	__uint(max_entries, 2000000);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct trie_v6 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(key_size, sizeof(struct pw_key_v6));
	__uint(value_size, sizeof(struct pw_rule_value));
	__uint(max_entries, 1000000);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct trie_v4);
} active_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct trie_v6);
} active_v6 SEC(".maps");

/*
 * The compiled engine's tables (include/prefixwall/abi.h, PW_CL_*): per
 * family two mmappable word arrays (compiled_v4_0/1, created, sized and
 * pinned by the controller) behind a one-slot outer array, swapped the
 * same way as the tries. The template's max_entries is a placeholder: the
 * controller hands libbpf copy 0 of each family as the inner map at load
 * (an inner array's size must match).
 */
struct compiled_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct compiled_table);
} compiled_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct compiled_table);
} compiled_v6 SEC(".maps");

/* Result index -> rule id | counter slot << 32, for both copies and both
 * families; max_entries = --max-rules-v4 + --max-rules-v6 + 1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
} compiled_results SEC(".maps");

/* Per-rule counters, indexed by counter slot (not by rule id). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pw_counter);
	__uint(max_entries, 131072);
} rule_counters SEC(".maps");

/* slot -> rule id that took it (0: free), so the controller can attribute
 * every slot's counts and give slots of deleted rules back. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 131072);
} slot_owner SEC(".maps");

/* Free-slot ring and its [0]=head (data plane), [1]=tail (controller). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 131072);
} slot_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} slot_ring_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pw_counter);
	__uint(max_entries, PW_GLOBAL_COUNTERS);
} global_counters SEC(".maps");

/* Captures (include/prefixwall/abi.h, PW_CAPTURE_*; bpf/lib/capture.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} capture_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pw_capture_filter);
	__uint(max_entries, PW_CAPTURE_SLOTS);
} capture_filters SEC(".maps");

/* The inner-map template: each capture puts a ring of its own size. */
struct capture_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PW_CAPTURE_SLOTS);
	__array(values, struct capture_ring);
} capture_rings SEC(".maps");

/* Records lost to a full ring, per slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, PW_CAPTURE_SLOTS);
} capture_lost SEC(".maps");

/* Matching packets seen per slot and CPU, for sampling. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, PW_CAPTURE_SLOTS);
} capture_seen SEC(".maps");

/* Tests only (cfg_record_last): the rules the last packet matched. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pw_last_match);
	__uint(max_entries, 1);
} last_match SEC(".maps");

#endif /* PW_BPF_MAPS_H */
