/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The lookup, as the XDP program does it: the rule version in force for a
 * family (the engine's one-slot outer map, read once per packet), then the
 * engine's longest-prefix match of an address in it. Included by
 * prefixwall.bpf.c and by every benchmark and differential-test program
 * (tests/bench/bpf/), so they measure and check this code, not a copy.
 *
 * The engine is a load-time constant (cfg_engine, set through .rodata):
 * the verifier drops the other engine's code from each instance.
 */
#ifndef PW_BPF_LOOKUP_H
#define PW_BPF_LOOKUP_H

#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "compiled.h"

const volatile __u8 cfg_engine = PW_ENGINE_COMPILED;

/* A judged address's longest match: the rule, where its counter slot
 * lives, and its action (PW_ACTION_NONE: no rule). PW_ACTION_SCOPED: the
 * longest match is a rule scoped to L4, and which rule applies depends on
 * the packet: resolve_v4/v6() says, with the rest of the fields. */
struct hit {
	__u32 *slot;   /* the rule's counter slot in the engine's value (trie,
			* scoped: in the scoped rule's value) */
	__u32 rule_id; /* compiled, scoped: the scope record's leaf */
	__u8 action;
};

static __always_inline struct hit trie_rule_hit(struct pw_rule_value *v)
{
	struct hit h = {};

	if (v) {
		h.slot = &v->counter_slot;
		h.rule_id = v->rule_id;
		h.action = v->action;
	}
	return h;
}

static __always_inline struct hit trie_hit(struct pw_rule_value *v)
{
	struct hit h = trie_rule_hit(v);

	if (v && v->scope.proto)
		h.action = PW_ACTION_SCOPED;
	return h;
}

static __always_inline struct hit compiled_hit(struct cl_hit c)
{
	struct hit h = {};

	if (c.action == PW_ACTION_SCOPED && !c.result) {
		h.action = PW_ACTION_SCOPED;
		h.rule_id = c.leaf;
	} else if (c.result && c.action) {
		h.slot = (__u32 *)c.result + 1;
		h.rule_id = (__u32)*c.result;
		h.action = c.action;
	}
	return h;
}

/* The rule version in force for a family: read once per packet, so that
 * both addresses are judged by the same version (a swap between the two
 * lookups would otherwise judge the source by one version and the
 * destination by the next). */
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

/* The trie engine's scoped match resolved: the rule itself when the packet
 * fits its scope (its action), or when its prefix has claims without a
 * scope (their action, otherwise); else the longest rule shorter than it
 * (one lookup with a shorter key), at most PW_SCOPE_DEPTH steps. key
 * holds the address. */
static __always_inline struct hit trie_resolve(void *version, void *key, __u32 *prefixlen,
					       struct pw_rule_value *v, const struct l4_info *l4)
{
	struct pw_scope s;
	struct hit h;

	for (int i = 0; i <= PW_SCOPE_DEPTH; i++) {
		if (!v)
			break;
		s = v->scope;
		if (scope_fits(&s, l4))
			return trie_rule_hit(v);
		if (v->otherwise) {
			h = trie_rule_hit(v);
			h.action = v->otherwise;
			return h;
		}
		if (!v->prefixlen || i == PW_SCOPE_DEPTH)
			break; /* no shorter rule; or a chain longer than the controller builds */
		*prefixlen = v->prefixlen - 1;
		v = bpf_map_lookup_elem(version, key);
	}
	return trie_rule_hit(NULL);
}

/* A match resolved for the packet (l4): as it is unless it is scoped. */
static __always_inline struct hit resolve_v4(void *version, __be32 addr, struct hit h,
					     const struct l4_info *l4)
{
	if (h.action != PW_ACTION_SCOPED)
		return h;
	if (cfg_engine == PW_ENGINE_COMPILED) {
		return compiled_hit(cl_resolve(version, h.rule_id, l4));
	} else {
		struct pw_key_v4 key = {};

		__builtin_memcpy(key.addr, &addr, sizeof(key.addr));
		return trie_resolve(version, &key, &key.prefixlen,
				    (void *)h.slot - __builtin_offsetof(struct pw_rule_value, counter_slot), l4);
	}
}

static __always_inline struct hit resolve_v6(void *version, const struct in6_addr *addr,
					     struct hit h, const struct l4_info *l4)
{
	if (h.action != PW_ACTION_SCOPED)
		return h;
	if (cfg_engine == PW_ENGINE_COMPILED) {
		return compiled_hit(cl_resolve(version, h.rule_id, l4));
	} else {
		struct pw_key_v6 key = {};

		__builtin_memcpy(key.addr, addr, sizeof(key.addr));
		return trie_resolve(version, &key, &key.prefixlen,
				    (void *)h.slot - __builtin_offsetof(struct pw_rule_value, counter_slot), l4);
	}
}

#endif /* PW_BPF_LOOKUP_H */
