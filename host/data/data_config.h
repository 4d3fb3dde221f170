/* data_config.h -- the data part of a training config, and opening it.
 *
 * Keys read (everything else at the top level belongs to the pipeline):
 *   "dataset": {"format": "idx"|"cifar"|"folder"|"csv", "root": dir,
 *               "classes": int, "class_names": [str...],
 *               idx, cifar, folder: "targets": [...] derived from the label,
 *               folder, csv: "decode_shape": [C,H,W],
 *               folder: "test_root": dir,
 *               csv only: "file": str, "test_file": str, "columns": [...] (see ds_csv.h)}
 *   "input_shape": [C,H,W]   the model's image input: the shape after the transforms
 *   "transforms": [{"name": ..., "p": 1.0, ...}, ...]   see docs/data.md
 *   "val_split": 0.1, "test_split": 0, "seed": 0, "train_batch_size": 32,
 *   "val_batch_size": 32, "workers": 2
 * Unknown keys inside "dataset" and in each transform, and wrong types,
 * are errors naming the key path. docs/data.md has the whole story. */
#ifndef CVL_DATA_CONFIG_H
#define CVL_DATA_CONFIG_H

#include <jansson.h>

#include "data/ds_csv.h"
#include "data/loader.h"

#define CVL_DATA_MAX_TF 32
#define CVL_DATA_MAX_CLASSES 1000

typedef struct cvl_data_config {
    char path[512]; /* the config file, for messages */
    char format[16];
    char root[512];
    int classes;
    char **class_names; /* classes entries or NULL */
    int64_t shape[3];        /* input_shape as given, or zeros */
    int64_t decode_shape[3]; /* dataset.decode_shape as given, or zeros */
    cvl_transform tf[CVL_DATA_MAX_TF];
    int n_tf;
    double val_split, test_split;
    uint64_t seed;
    int64_t train_batch, val_batch;
    int workers;
    char csv_file[256];                            /* csv: manifest, relative to root */
    cvl_csv_column csv_cols[2 * CVL_DATA_MAX_IO];  /* csv: column mapping */
    int n_csv_cols;
    char test_root[512];                           /* folder: a test tree, or "" */
    char test_file[256];                           /* csv: a test manifest under root, or "" */
    cvl_derived_target derived[CVL_DATA_MAX_IO - 1]; /* idx, cifar, folder: dataset.targets */
    int n_derived;
} cvl_data_config;

cvl_status cvl_data_config_parse(cvl_data_config *c, const json_t *config, const char *path, cvl_err *e);
void cvl_data_config_free(cvl_data_config *c);
void cvl_data_config_free_names(cvl_data_config *c);

typedef struct cvl_data {
    cvl_dataset *full, *train, *val, *test; /* train, val: views of full; test NULL when there is none */
    cvl_dataset *eval;      /* what `eval` measures: test when there is one, else val (not owned) */
    const char *eval_split; /* "test" or "val" */
    /* image inputs (zeros without one): the shape the dataset decodes to,
     * and the model's input, after the transforms */
    int64_t decode_shape[3], input_shape[3];
} cvl_data;

/* Opens the splits, checks input_shape against the transforms' output, and
 * resolves "mean": "auto" from the training split. The config must outlive
 * the data (category names and derived-target maps are shared). */
cvl_status cvl_data_open(cvl_data *d, cvl_data_config *c, cvl_err *e);

/* Loader options for a split from the config: batch size, workers, seed,
 * transforms; training 1 (train_batch_size, shuffled, random steps too) or 0
 * (val_batch_size, in order, deterministic steps only). drop_last is 0. */
cvl_loader_opts cvl_data_loader_opts(const cvl_data_config *c, int training);
void cvl_data_close(cvl_data *d);

/* Per-channel mean and std of the first image input over ds (before transforms);
 * counts[k] samples of class k of the first class target (counts may be
 * NULL, and is left alone when there is no class target). */
cvl_status cvl_data_stats(double *mean, double *std, int64_t *counts, const cvl_dataset *ds, cvl_err *e);

/* A PNG grid of the batch's first image input, one tile per sample with the
 * label of the first class target (if any) drawn under it in a bitmap font; a
 * sidecar <path>.txt lists tile -> label name. Written to a temp file,
 * fsynced, renamed. */
cvl_status cvl_data_write_grid(const char *path, const cvl_batch *b, char *const *class_names, int n_classes,
                               cvl_err *e);

#endif
