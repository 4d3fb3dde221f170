/* ds_csv.h -- the csv format: a manifest whose columns map to inputs and
 * targets, for multi-input, multi-task models.
 *
 * File: RFC 4180-style CSV, first line a header of column names, fields
 * separated by commas, optionally "quoted" ("" is a quote), LF or CRLF.
 * Every row must have as many fields as the header.
 *
 * Config, inside "dataset": "file": manifest path relative to root,
 * "columns": [{"name": col, "as": kind, "categories": [str...]}], kind one of
 *   image            a path relative to root, decoded like the folder format
 *   numerical        a float: input (1)
 *   boolean          true/false/1/0/yes/no: input (1) as 0 or 1
 *   categorical      one of "categories": input one-hot (K)
 *   target           one of "categories": a class target (label = its index)
 *   multilabel       "categories" separated by '|' or ';' (empty: none):
 *                    a multi-hot (K) float target
 *   numerical_target a float: a (1) float target
 *   boolean_target   like boolean: a (1) float target, 0 or 1
 * Inputs and targets are numbered in column order, each among its own. */
#ifndef CVL_DATA_DS_CSV_H
#define CVL_DATA_DS_CSV_H

#include "data/dataset.h"

typedef enum cvl_csv_kind {
    CVL_CSV_IMAGE,
    CVL_CSV_NUMERICAL,
    CVL_CSV_BOOLEAN,
    CVL_CSV_CATEGORICAL,
    CVL_CSV_TARGET,
    CVL_CSV_MULTILABEL,
    CVL_CSV_NUMERICAL_TARGET,
    CVL_CSV_BOOLEAN_TARGET,
} cvl_csv_kind;
#define CVL_CSV_KINDS 8

/* "image", "numerical", ... as written in a config. */
const char *cvl_csv_kind_name(cvl_csv_kind k);
/* Whether the column feeds a target rather than an input. */
int cvl_csv_is_target(cvl_csv_kind k);
/* Whether the column needs "categories". */
int cvl_csv_has_categories(cvl_csv_kind k);

typedef struct cvl_csv_column {
    char name[64];
    cvl_csv_kind kind;
    char **categories;
    int n_categories;
} cvl_csv_column;

/* Fields of a whole CSV file: rows x cols strings (row 0 is the header). */
typedef struct cvl_csv_table {
    char **cells;  /* rows * cols, each NUL-terminated inside `text` */
    char *text;
    int64_t rows, cols;
} cvl_csv_table;

cvl_status cvl_csv_parse_mem(cvl_csv_table *t, const char *buf, size_t len, const char *path, cvl_err *e);
void cvl_csv_table_free(cvl_csv_table *t);

/* The dataset over root/file; `shape` (C,H,W) sizes the image column.
 * cols (their category lists) must outlive the dataset. */
cvl_status cvl_dataset_csv_open(cvl_dataset **out, const char *root, const char *file, const cvl_csv_column *cols,
                                int n_cols, const int64_t *shape, cvl_err *e);
/* The same from a manifest already in memory (`path` names it in messages;
 * image paths are still relative to root). What the fuzz target drives. */
cvl_status cvl_dataset_csv_open_mem(cvl_dataset **out, const char *root, const char *path, const uint8_t *buf,
                                    size_t len, const cvl_csv_column *cols, int n_cols, const int64_t *shape,
                                    cvl_err *e);

#endif
