/* models.h — the networks dlmem knows, by name, and their settable sizes.
 *
 * Each model is one builder function that writes a dlm_graph matching its
 * PyTorch reference exactly (parameter names, shapes and order).  Sizes a user
 * may change are "knobs" (integers with a default and a valid range), set from
 * the command line as `--set hidden=512,layers=3`.
 */
#ifndef DLM_MODELS_H
#define DLM_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

#define DLM_MAX_KNOBS 12

typedef struct dlm_knob {
    const char *name;
    int64_t value;      /* default, or the value set */
    int64_t min, max;   /* valid range, inclusive */
    const char *help;
} dlm_knob;

typedef struct dlm_model_config {
    const struct dlm_model_info *info;
    dlm_knob knobs[DLM_MAX_KNOBS];
    int n_knobs;
} dlm_model_config;

typedef struct dlm_model_info {
    const char *name;        /* "resnet18" */
    const char *summary;     /* one line for --help */
    const char *pytorch;     /* the PyTorch reference it matches */
    const dlm_knob *knobs;   /* defaults, terminated by a NULL name */
    int variant;             /* builder-specific: ResNet depth, RNN cell */
    dlm_status (*build)(const dlm_model_config *cfg, dlm_graph *g);
} dlm_model_info;

/* All models, in the order --help lists them. */
const dlm_model_info *dlm_models(int *n);

/* Looks a model up by name; unknown names get an error listing the valid ones. */
dlm_status dlm_model_find(const char *name, const dlm_model_info **out);

/* Default configuration of a model, then `settings` ("k=v,k=v", may be NULL or
 * empty) applied; unknown knobs and out-of-range values are errors that list
 * the valid knobs or range. */
dlm_status dlm_model_config_init(const dlm_model_info *info, const char *settings,
                                 dlm_model_config *cfg);

/* The value of knob `name` (which must exist: a builder's own knob). */
int64_t dlm_model_knob(const dlm_model_config *cfg, const char *name);

/* Builds the graph of a configured model. */
dlm_status dlm_model_build(const dlm_model_config *cfg, dlm_graph **out);

/* Builds a model by name, or a network file by path (see netfile.h: a name with
 * a '/' or ending in .net).  settings apply to named models only.  *info, if
 * info is not NULL, is the model's entry, or NULL for a network file. */
dlm_status dlm_model_open(const char *name_or_path, const char *settings,
                          const dlm_model_info **info, dlm_graph **out);

/* Convenience: dlm_model_open without the info. */
dlm_status dlm_model_build_named(const char *name, const char *settings, dlm_graph **out);
/* A built-in model by name only, for names read from data (a CSV's model
 * column): a name that looks like a path is an unknown model, never a file
 * that is opened. */
dlm_status dlm_model_build_builtin(const char *name, const char *settings, dlm_graph **out);

/* Builders (one per file). */
dlm_status dlm_build_resnet(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_rnn(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_bert(const dlm_model_config *cfg, dlm_graph *g);
dlm_status dlm_build_vgg(const dlm_model_config *cfg, dlm_graph *g);          /* cnn.c */
dlm_status dlm_build_mobilenet_v2(const dlm_model_config *cfg, dlm_graph *g); /* cnn.c */
dlm_status dlm_build_efficientnet(const dlm_model_config *cfg, dlm_graph *g); /* cnn.c */
dlm_status dlm_build_densenet(const dlm_model_config *cfg, dlm_graph *g);     /* cnn.c */
dlm_status dlm_build_unet(const dlm_model_config *cfg, dlm_graph *g);

#endif
