/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Context capture into an alloctag ring (capture.c). */
#ifndef MEMLENS_ALLOCTAG_CAPTURE_H
#define MEMLENS_ALLOCTAG_CAPTURE_H

#include <stdbool.h>

#include <memlens/alloctag.h>

/*
 * Record one allocation of @size at @tag into @ring. Frames for which
 * @own_frame(return address) is true are the profiler's own and are
 * dropped from the top of the stack.
 */
__attribute__((visibility("hidden"))) void
alloctag_capture(struct ml_alloc_ring *ring, const struct ml_alloc_tag *tag,
		 size_t size, bool (*own_frame)(const void *ip));
/* Fill in a ring's header (its slots start zeroed). */
__attribute__((visibility("hidden"))) void
alloctag_ring_init(struct ml_alloc_ring *ring);

#endif
