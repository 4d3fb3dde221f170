/* data_config.h -- the data part of a training config, and opening it.
 *
 * Keys read (everything else at the top level belongs to the pipeline):
 *   "dataset": {"format": "idx"|"cifar"|"folder"|"csv", "root": dir,
 *               "classes": int, "class_names": [str...],
 *               csv only: "file": str, "columns": [...] (see ds_csv.h)}
 *   "input_shape": [C,H,W]   (checked against the dataset)
 *   "transforms": [{"name": ..., "p": 1.0, ...}, ...]   see docs/data.md
 *   "val_split": 0.1, "seed": 0, "train_batch_size": 32, "val_batch_size": 32,
 *   "workers": 2
 * Unknown keys inside "dataset" and in each transform, and wrong types,
 * are errors naming the key path. */
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
    int64_t shape[3];   /* (C,H,W) or zeros when not given */
    cvl_transform tf[CVL_DATA_MAX_TF];
    int n_tf;
    double val_split;
    uint64_t seed;
    int64_t train_batch, val_batch;
    int workers;
    char csv_file[256];                            /* csv: manifest, relative to root */
    cvl_csv_column csv_cols[2 * CVL_DATA_MAX_IO];  /* csv: column mapping */
    int n_csv_cols;
} cvl_data_config;

cvl_status cvl_data_config_parse(cvl_data_config *c, const json_t *config, const char *path, cvl_err *e);
void cvl_data_config_free(cvl_data_config *c);
void cvl_data_config_free_names(cvl_data_config *c);

typedef struct cvl_data {
    cvl_dataset *full, *train, *val, *test; /* train, val: views of full */
} cvl_data;

/* Opens the splits and resolves "mean": "auto" from the training split. */
cvl_status cvl_data_open(cvl_data *d, cvl_data_config *c, cvl_err *e);
void cvl_data_close(cvl_data *d);

/* Per-channel mean and std of image input 0 over ds (before transforms);
 * counts[k] samples of class k for target 0 (counts may be NULL). */
cvl_status cvl_data_stats(double *mean, double *std, int64_t *counts, const cvl_dataset *ds, cvl_err *e);

/* A PNG grid of the batch's images (input 0), one tile per sample with its
 * label index drawn under it in a bitmap font; a sidecar <path>.txt lists
 * tile -> label name. Written to a temp file, fsynced, renamed. */
cvl_status cvl_data_write_grid(const char *path, const cvl_batch *b, const cvl_dataset *ds, char *const *class_names,
                               int n_classes, cvl_err *e);

#endif
