/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Captures: copies of judged packets pushed into the ring buffers of the
 * captures that run (include/prefixwall/abi.h, PW_CAPTURE_*). With none
 * running, a packet costs one array lookup (capture_active) here; with
 * some running, the slots that word names.
 */
#ifndef PW_BPF_CAPTURE_H
#define PW_BPF_CAPTURE_H

#include "maps.h"
#include "lookup.h"
#include "parsing.h"

/* Copies the frame into every running capture whose filter it matches.
 * A global function: the verifier checks it once, on its own, instead of
 * at each of its call sites. */
__noinline int capture_packet(struct xdp_md *ctx, __u32 slots, __u32 src_rule, __u32 dst_rule,
			      __u32 family_outcome)
{
	/* BPF functions take at most five arguments: family << 8 | outcome. */
	__u32 family = family_outcome >> 8, outcome = family_outcome & 0xff;
	__u32 len = frame_len(ctx);

#pragma unroll
	for (__u32 i = 0; i < PW_CAPTURE_SLOTS; i++) {
		__u32 slot = i;
		struct pw_capture_filter *f = bpf_map_lookup_elem(&capture_filters, &slot);
		struct pw_capture_record *rec;
		__u64 *seen, *lost;
		__u32 caplen;
		void *ring;

		if (!(slots & (1u << i)) || !f || !f->active)
			continue;
		if (f->rule_id && f->rule_id != src_rule && f->rule_id != dst_rule)
			continue;
		if (f->ifindex && f->ifindex != ctx->ingress_ifindex)
			continue;
		if (f->outcomes && !(f->outcomes & (1u << outcome)))
			continue;
		seen = bpf_map_lookup_elem(&capture_seen, &slot);
		if (!seen)
			continue;
		if (f->sample > 1 && (*seen)++ % f->sample)
			continue;
		ring = bpf_map_lookup_elem(&capture_rings, &slot);
		if (!ring)
			continue;
		rec = bpf_ringbuf_reserve(ring, sizeof(*rec), 0);
		if (!rec) {
			lost = bpf_map_lookup_elem(&capture_lost, &slot);
			if (lost)
				__sync_fetch_and_add(lost, 1);
			continue;
		}
		caplen = len < f->snaplen ? len : f->snaplen;
		if (caplen > PW_CAPTURE_MAX_SNAPLEN)
			caplen = PW_CAPTURE_MAX_SNAPLEN;
		if (caplen < 1 || bpf_xdp_load_bytes(ctx, 0, rec->data, caplen)) {
			bpf_ringbuf_discard(rec, 0);
			continue;
		}
		rec->ktime_ns = bpf_ktime_get_ns();
		rec->ifindex = ctx->ingress_ifindex;
		rec->len = len;
		rec->caplen = caplen;
		rec->src_rule_id = src_rule;
		rec->dst_rule_id = dst_rule;
		rec->outcome = outcome;
		rec->family = family;
		bpf_ringbuf_submit(rec, 0);
	}
	return 0;
}

/* The flag checked once per packet; the rules the packet's addresses
 * matched (0: none). */
static __always_inline void capture(struct xdp_md *ctx, __u32 src_rule, __u32 dst_rule,
				    __u32 family, __u32 outcome)
{
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&capture_active, &zero);

	if (on && *on)
		capture_packet(ctx, *on, src_rule, dst_rule, family << 8 | outcome);
}

#endif /* PW_BPF_CAPTURE_H */
