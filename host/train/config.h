/* config.h -- training configs: JSON (jansson) mirroring CVlization's
 * TrainingPipelineConfig, checked against a schema.
 *
 * Every key has a type and a default (docs/config.md lists them, generated
 * from the same table: `cvl-host config --docs`). Loading applies the
 * defaults, then the --set overrides (dotted paths; a value is parsed as
 * JSON when it is valid JSON, else taken as a string), then checks every
 * key: an unknown key, a wrong type or a value out of range is a one-line
 * error naming the file and the key path, with the closest valid key
 * suggested. Component references (`"image_backbone": "cnn"` or
 * `{"name": "cnn", "width": 32}`) are checked against the registry by the
 * pipeline when it builds the model. */
#ifndef CVL_TRAIN_CONFIG_H
#define CVL_TRAIN_CONFIG_H

#include <jansson.h>
#include <stdio.h>

#include "util/err.h"

typedef struct cvl_config {
    json_t *root;     /* resolved: defaults applied, overrides applied */
    char source[512]; /* the file it came from, for messages */
} cvl_config;

/* Loads `path`, applies `sets` ("key.path=value") and checks everything. */
cvl_status cvl_config_load(cvl_config *cfg, const char *path, const char *const *sets, size_t n_sets, cvl_err *e);
/* The same from a JSON object (a reference is taken). */
cvl_status cvl_config_from_json(cvl_config *cfg, json_t *root, const char *source, const char *const *sets,
                                size_t n_sets, cvl_err *e);
void cvl_config_free(cvl_config *cfg);

/* Typed reads of a resolved config ("dataset.root"). The key must exist in
 * the schema (a bug otherwise). */
int64_t cvl_config_int(const cvl_config *cfg, const char *path);
double cvl_config_float(const cvl_config *cfg, const char *path);
const char *cvl_config_string(const cvl_config *cfg, const char *path);
bool cvl_config_bool(const cvl_config *cfg, const char *path);
const json_t *cvl_config_get(const cvl_config *cfg, const char *path);

/* A component reference: its name and its parameters (a new object without
 * "name", or NULL when the reference is a bare string). */
const char *cvl_config_component(const cvl_config *cfg, const char *path, json_t **params);

/* Markdown table of every key: type, default, meaning. */
void cvl_config_write_docs(FILE *out);

#endif
