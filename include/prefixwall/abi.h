/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of everything the XDP data plane and the controller
 * share: map keys, map values, counter layouts and constants. Included by
 * bpf/prefixwall.bpf.c and by the C++ controller (which static_asserts the
 * layout in controller/kernel/abi_check.cpp). Change it on both sides at once or
 * not at all: pinned maps outlive binaries, so a layout change is a breaking
 * change of the pinned state (bump PW_ABI_VERSION).
 */
#ifndef PREFIXWALL_ABI_H
#define PREFIXWALL_ABI_H

#include <linux/types.h>

#define PW_ABI_VERSION 5

/* LPM trie keys: prefixlen first, as BPF_MAP_TYPE_LPM_TRIE requires;
 * the address in network byte order. */
struct pw_key_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct pw_key_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* What a rule does to a packet whose judged address it is the longest
 * match for. 0 is never stored. */
enum pw_action {
	PW_ACTION_NONE = 0,
	PW_ACTION_BLOCK = 1,   /* drop (monitor under dry-run) */
	PW_ACTION_ALLOW = 2,   /* exception inside a block: pass, counted */
	PW_ACTION_MONITOR = 3, /* pass, counted: what a block would hit */
	PW_ACTION_REJECT = 4,  /* answer (TCP RST, ICMP/ICMPv6 administratively
				* prohibited) and drop; monitor under dry-run */
	PW_ACTION_SCOPED = 5,  /* data plane only: the match is a rule scoped to
				* L4 (see struct pw_scope); which rule applies
				* depends on the packet's protocol and ports */
};

/*
 * A rule's L4 scope. A scoped rule applies only to packets of its protocol
 * (and, for TCP and UDP, its ports); a packet it does not fit falls through
 * to the next longer-to-shorter rule covering the address, so the longest
 * prefix whose scope fits the packet wins. proto 0: no scope (every
 * packet). Ports are in host order; a port scope never fits a fragment
 * after the first (it has no L4 header). At most PW_SCOPE_DEPTH scoped
 * rules cover one another (the controller refuses more), so the data
 * plane's walk down the chain is bounded.
 */
#define PW_SCOPE_PORT_RANGES 4
#define PW_SCOPE_DEPTH 4

struct pw_scope {
	__u8 proto;    /* IPPROTO_TCP, _UDP, _ICMP or _ICMPV6; 0: none */
	__u8 dports;   /* destination port ranges in use (0: any port) */
	__u16 sport_lo; /* source port range (0-0: any) */
	__u16 sport_hi;
	__u16 dport_lo[PW_SCOPE_PORT_RANGES];
	__u16 dport_hi[PW_SCOPE_PORT_RANGES];
	__u16 pad;
};

/* Value of both LPM tries. rule_id is the controller's stable id of the
 * rule (never reused). counter_slot is 0 until the rule first sees
 * traffic; the data plane then takes a slot from the free-slot ring and
 * stores it here with a compare-and-swap (see bpf/lib/counters.h). */
struct pw_rule_value {
	__u32 rule_id;
	__u32 counter_slot;
	__u8 action;    /* scoped: for packets that fit the scope */
	__u8 prefixlen; /* the key's: a scoped rule's fallback is looked up shorter */
	__u8 otherwise; /* scoped: the action for the others (0: the covering rule's) */
	__u8 pad;
	struct pw_scope scope; /* proto 0: not scoped */
};

/*
 * The compiled engine (--engine compiled): longest-prefix-match tables the
 * controller builds in userspace and publishes in one BPF_F_MMAPABLE array
 * of 64-bit words per copy (controller/kernel/compiled_table.cpp builds
 * them, bpf/lib/compiled.h walks them). A copy holds two sections, each a
 * Poptrie-style multibit trie with the same layout:
 *
 *   verdict  the action alone for every address (block, allow, monitor or
 *            none), built from the rules with every rule that repeats the
 *            action around it dropped and equal siblings merged, so that
 *            equal neighbours share their leaves: small enough to stay in
 *            cache (about 1 MiB for the 1M-prefix BGP table). Every judged
 *            address walks it; most traffic matches nothing and stops here.
 *   rules    the matching rule itself (its action and result index), walked
 *            only when the verdict is not none, for the rule's counters.
 *
 * The rule section starts at word 0 of the copy; the verdict section at
 * the word its header names (PW_CL_H_VERDICT). Within a section (offsets
 * relative to its first word):
 *
 *   key      the address as 128 bits (hi, lo); IPv4 sits in the top 32
 *            bits of hi, so one walk serves both families;
 *   direct   2^B u32 entries indexed by the key's top B bits (B = 18 for
 *            rules, 1 MiB; 16 for the verdict, 256 KiB);
 *   nodes    a node judges S key bits (S = 6 for rules, 8 for the
 *            verdict: an IPv4 verdict is at most two nodes deep, and a /24
 *            ends in the first). With W = 2^S / 64 words per bit vector:
 *            vector (W words; bit i: slot i is a child node), leafvec (W
 *            words; bit i: a new run of equal leaves starts at slot i),
 *            base = first leaf | first child << 32, and counts: byte k
 *            (k < 4) the vector bits in words before word k, byte 4 + k
 *            the leafvec bits (0 when W = 1). So 4 words (32 bytes, never
 *            across a cache line) at S = 6, 10 at S = 8. A node's children
 *            and its leaves are contiguous, so a child or leaf is found by
 *            counting bits below the slot (one popcount);
 *   leaves   u32 each (see PW_CL_*), two per word;
 *   tails    4 words each: a subtree holding a single prefix is stored as
 *            that prefix, compared in one step instead of walked 6 bits
 *            at a time (a /128 or a lone /32 costs one compare).
 *
 * A rule leaf carries the rule's action and its result index into
 * compiled_results, one word per rule shared by both copies and both
 * families: rule id | counter slot << 32. A rule keeps its index while it
 * exists, so its counter slot (taken by the data plane with a
 * compare-and-swap on the high half) needs no carrying between versions;
 * the index of a deleted rule is reused only after the swap. A verdict
 * leaf carries the action, and the result index too when it stands for
 * one rule with no rule inside it (then the rule section is not walked);
 * else index 0.
 *
 * A rule scoped to L4 (struct pw_scope) has the action PW_ACTION_SCOPED in
 * both sections. In the verdict the index names a scope record among the
 * verdict section's tails (4 words: the rule's own leaf | the leaf to fall
 * back to << 32, then the struct pw_scope); the reduction compares scoped
 * leaves whole, so the verdict names the record wherever the rule is the
 * longest match, and the rule section's scoped leaves (index 0) are never
 * reached. The fallback leaf is the rule's own with its otherwise action
 * when its prefix also has claims without a scope, else the one the
 * covering rule would have (itself a record when that rule is scoped too).
 * Records are built with the region that holds the rule (every change to
 * a covering rule rebuilds a region that holds it), so a copy's records
 * are of its own version.
 *
 * u32 tables are packed two per word, low half first: a BPF_F_MMAPABLE
 * array maps each element at its value size rounded up to 8 bytes, so an
 * array of __u32 values would not be a packed __u32[] in the mapping.
 */
#define PW_CL_NODE (1u << 31)   /* direct entry: a node index follows */
#define PW_CL_TAIL (1u << 30)   /* leaf: a tail index follows */
#define PW_CL_ACTION_SHIFT 27   /* leaf: the rule's action (3 bits) */
#define PW_CL_ACTION_MASK 7u
#define PW_CL_INDEX_MASK ((1u << 27) - 1)
#define PW_CL_RULE_DIRECT_BITS 18
#define PW_CL_RULE_STRIDE 6
#define PW_CL_VERDICT_DIRECT_BITS 16
#define PW_CL_VERDICT_STRIDE 8
#define PW_CL_VEC_WORDS(stride) ((1u << (stride)) / 64)
#define PW_CL_NODE_WORDS(stride) (PW_CL_VEC_WORDS(stride) == 1 ? 4u : 2 * PW_CL_VEC_WORDS(stride) + 2)
/* Levels below the direct table, at most: ceil((32 - 18) / 6) for IPv4,
 * ceil((128 - 18) / 6) for IPv6 (the verdict's are fewer). */
#define PW_CL_V4_LEVELS 3
#define PW_CL_MAX_LEVELS 19

/* Header words at the start of each section. */
enum pw_cl_header {
	PW_CL_H_MAGIC = 0,   /* PW_CL_MAGIC once a section is published */
	PW_CL_H_LEAVES = 1,  /* word offset of the leaf array */
	PW_CL_H_TAILS = 2,   /* word offset of the tail array */
	PW_CL_H_RULES = 3,   /* rules in the table */
	PW_CL_H_WORDS = 4,   /* words the regions span (used and free) */
	PW_CL_H_NODES_USED = 5,  /* nodes, leaves and tails in use: a patch */
	PW_CL_H_LEAVES_USED = 6, /* appends after them, in the free room */
	PW_CL_H_TAILS_USED = 7,  /* each region keeps (controller only) */
	PW_CL_H_VERDICT = 8, /* rule section: word offset of the verdict section */
	PW_CL_HEADER_WORDS = 16,
};
#define PW_CL_MAGIC 0x70776c3100000004ULL
/* Word 0 of compiled_results is never a rule's (index 0 means "no rule"):
 * it holds the generation of the rule store the maps were last made equal
 * to (controller only; see controller/session/controller.cpp). */
#define PW_CL_RESULT_GENERATION 0
#define PW_CL_DIRECT_OFF PW_CL_HEADER_WORDS
/* The nodes follow the direct table: a fixed offset, not a header word. */
#define PW_CL_NODES_OFF(direct_bits) (PW_CL_DIRECT_OFF + (1u << (direct_bits)) / 2)

/* Which lookup engine a program instance uses. */
enum pw_engine {
	PW_ENGINE_TRIE = 0,     /* kernel LPM trie (the reference) */
	PW_ENGINE_COMPILED = 1, /* the table above */
};

/* One counter cell: per CPU in the per-CPU arrays. */
struct pw_counter {
	__u64 packets;
	__u64 bytes;
};

/* Global counters: index = family * PW_OUTCOME_MAX + outcome. */
enum pw_family {
	PW_FAMILY_IPV4 = 0,
	PW_FAMILY_IPV6 = 1,
	PW_FAMILY_OTHER = 2, /* non-IP frames */
	PW_FAMILY_MAX = 3,
};

enum pw_outcome {
	PW_OUTCOME_DROPPED = 0,
	PW_OUTCOME_ALLOWED = 1,
	PW_OUTCOME_MONITORED = 2,
	PW_OUTCOME_PASSED = 3, /* IP, no rule matched */
	PW_OUTCOME_MALFORMED = 4,
	PW_OUTCOME_NON_IP = 5,
	PW_OUTCOME_REJECTED = 6, /* answered (reject), then dropped */
	PW_OUTCOME_MAX = 7,
};

#define PW_GLOBAL_COUNTERS ((int)PW_FAMILY_MAX * (int)PW_OUTCOME_MAX)

/* Which addresses of a packet are judged (per attachment). */
enum pw_match {
	PW_MATCH_SRC = 1,
	PW_MATCH_DST = 2,
	PW_MATCH_BOTH = 3,
};

/*
 * Counter slots. Rules get a per-CPU counter cell only once they see
 * traffic, so counter memory is slots x 16 B x CPUs, independent of the
 * number of rules. Slot 0 is the overflow cell: hits of rules that found
 * the ring empty land there (still in the global counters).
 *
 * The free-slot ring: ring[i % slots] holds free slot numbers for
 * head <= i < tail. The controller (single writer, under the pin-dir lock)
 * pushes at tail; the data plane pops at head with a compare-and-swap.
 */
struct pw_slot_ring_ctl {
	__u64 head; /* written by the data plane */
	__u64 tail; /* written by the controller */
};

/*
 * Captures (prefixwall capture). Up to PW_CAPTURE_SLOTS captures run at
 * once, each in a slot: its filter in capture_filters, its own ring buffer
 * in capture_rings (a BPF_MAP_TYPE_RINGBUF the capture creates and puts in
 * the slot), its losses in capture_lost. capture_active[0] has bit i set
 * while slot i is in use; the data plane reads it once per packet, does
 * nothing more while it is 0, and looks only at the slots it names. A packet that matches a slot's filter is copied
 * into that slot's ring (up to its snaplen) before it is dropped, answered
 * or passed.
 */
#define PW_CAPTURE_SLOTS 8
#define PW_CAPTURE_MAX_SNAPLEN 1536

struct pw_capture_filter {
	__u32 active;   /* 1 while a capture owns the slot */
	__u32 owner;    /* the capture's pid (a dead owner's slot is reclaimed) */
	__u32 rule_id;  /* only packets this rule matched, by src or dst (0: any) */
	__u32 ifindex;  /* only packets received on this interface (0: any) */
	__u32 outcomes; /* bit (1 << PW_OUTCOME_*) per outcome kept (0: any) */
	__u32 sample;   /* one in `sample` matching packets (0 or 1: all) */
	__u32 snaplen;  /* bytes kept per packet (at most PW_CAPTURE_MAX_SNAPLEN) */
	__u32 pad;
};

/* One captured packet, as the data plane writes it in a ring. */
struct pw_capture_record {
	__u64 ktime_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;    /* the interface it was received on */
	__u32 len;        /* the frame's length */
	__u32 caplen;     /* bytes of it in data */
	__u32 src_rule_id; /* the rules its addresses matched (0: none) */
	__u32 dst_rule_id;
	__u8 outcome;     /* PW_OUTCOME_* */
	__u8 family;      /* PW_FAMILY_* */
	__u8 pad[2];
	__u8 data[PW_CAPTURE_MAX_SNAPLEN];
};

/* Debug record of the last judged packet, kept only when the program is
 * loaded with cfg_record_last (tests): which rule each address matched. */
struct pw_last_match {
	__u32 src_rule_id;
	__u32 dst_rule_id;
	__u32 verdict; /* XDP_* */
	__u32 outcome;
};

#endif /* PREFIXWALL_ABI_H */
