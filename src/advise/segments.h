/* segments.h — the units of a network that activation checkpointing wraps,
 * found from the graph's module names: a "block" is a child of a sequential
 * container (a run of ops whose names share a prefix ending in an index, as
 * "layer1.0" of a ResNet or "encoder.layer.3" of BERT), a "stage" the whole
 * container ("layer1", "encoder.layer").  This is where torchvision's
 * BasicBlock / Sequential and transformers' BertLayer put
 * torch.utils.checkpoint.
 *
 * What it is not: the checkpointing itself (memory.h's config.checkpoint and
 * the trace rules), nor a choice of which segments to checkpoint (advise.c).
 */
#ifndef DLM_SEGMENTS_H
#define DLM_SEGMENTS_H

#include "../analytic/memory.h"
#include "../models/graph.h"

typedef enum dlm_seg_kind { DLM_SEG_BLOCK, DLM_SEG_STAGE } dlm_seg_kind;

typedef struct dlm_segment {
    dlm_op_range ops;   /* first..last op */
    char name[64];      /* "layer1.0", "encoder.layer.3", "layer2" */
} dlm_segment;

/* The segments of `kind`, in execution order, into a malloc'd array (*out,
 * free() it); *n = 0 when the network has none (the seed's LSTM). */
dlm_status dlm_segments_find(const dlm_graph *g, dlm_seg_kind kind, dlm_segment **out, int *n);

#endif
