/* dataset.h -- datasets behind one interface, transforms, a threaded loader.
 *
 * The data layer knows nothing of graphs or backends: it yields host float
 * batches. A dataset declares its inputs and its targets (cvl_data_decl);
 * get_sample writes one sample into caller-owned buffers. Images come out
 * (C,H,W) in [0,1] before transforms.
 *
 *   inputs                       targets
 *   IMAGE        (C,H,W) floats  CLASS       one int32 label in [0,classes)
 *   NUMERICAL    (F) floats      MULTILABEL  (K) floats, multi-hot 0/1
 *   BOOLEAN      (1) float 0/1   NUMERICAL   (F) floats
 *   CATEGORICAL  (K) one-hot     BOOLEAN     (1) float 0/1
 *
 * Randomness: every random draw is a pure function of (seed, epoch, sample
 * index, stream) through a counter-based hash (cvl_data_rand), so batches
 * are bit-identical for any number of loader workers. */
#ifndef CVL_DATA_DATASET_H
#define CVL_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define CVL_DATA_MAX_IO 8

typedef enum cvl_data_kind {
    CVL_DATA_IMAGE,       /* input: (c,h,w) */
    CVL_DATA_NUMERICAL,   /* input or target: (f) floats */
    CVL_DATA_CLASS,       /* target: an int32 label in [0, classes) */
    CVL_DATA_BOOLEAN,     /* input or target: (f = 1) float, 0 or 1 */
    CVL_DATA_CATEGORICAL, /* input: one-hot (f = classes) */
    CVL_DATA_MULTILABEL,  /* target: multi-hot (f = classes) */
} cvl_data_kind;

typedef struct cvl_data_decl {
    char name[64];
    cvl_data_kind kind;
    int64_t c, h, w;  /* image: (C,H,W) */
    int64_t f;        /* floats per sample of every non-image, non-class decl; 0 for CLASS */
    int64_t classes;  /* CLASS, CATEGORICAL, MULTILABEL: number of categories */
    /* CLASS, CATEGORICAL, MULTILABEL: `classes` names, or NULL when the data
     * has none. Owned by the dataset or by the config it was opened from. */
    char *const *categories;
} cvl_data_decl;

/* Floats per sample: c*h*w for images, f otherwise (0 for a class target). */
int64_t cvl_data_decl_floats(const cvl_data_decl *d);
/* The index of the first image among n inputs, or -1. */
int cvl_data_first_image(const cvl_data_decl *inputs, int n);
/* The index of the first class target among n, or -1. */
int cvl_data_first_class(const cvl_data_decl *targets, int n);
/* "image", "numerical", "class", ... */
const char *cvl_data_kind_name(cvl_data_kind k);
/* Whether a target's batch buffer is values[t] (float) rather than labels[t]. */
static inline bool cvl_data_is_float_target(const cvl_data_decl *d) { return d->kind != CVL_DATA_CLASS; }

/* Where get_sample writes one sample. The caller points inputs[i] at
 * cvl_data_decl_floats(&ds->inputs[i]) floats and values[t] at
 * targets[t].f floats for every float target (NULL for class targets);
 * the dataset fills labels[t] for class targets. */
typedef struct cvl_sample {
    float *inputs[CVL_DATA_MAX_IO];
    int32_t labels[CVL_DATA_MAX_IO];
    float *values[CVL_DATA_MAX_IO];
} cvl_sample;

typedef struct cvl_dataset cvl_dataset;

typedef struct cvl_dataset_vt {
    int64_t (*size)(const cvl_dataset *ds);
    /* Must be safe to call from several threads at once. */
    cvl_status (*get_sample)(cvl_sample *s, const cvl_dataset *ds, int64_t index, cvl_err *e);
    void (*free)(cvl_dataset *ds);
} cvl_dataset_vt;

struct cvl_dataset {
    const cvl_dataset_vt *vt;
    int n_inputs, n_targets;
    cvl_data_decl inputs[CVL_DATA_MAX_IO];
    cvl_data_decl targets[CVL_DATA_MAX_IO];
    char path[512]; /* for messages */
    void *impl;
};

/* A view of `base` through an index list (train/val splits). Does not own base. */
cvl_status cvl_dataset_subset(cvl_dataset **out, const cvl_dataset *base, const int64_t *idx, int64_t n, cvl_err *e);
/* The index in the underlying dataset of sample i of a (possibly nested) subset. */
int64_t cvl_dataset_root_index(const cvl_dataset *ds, int64_t i);
void cvl_dataset_free(cvl_dataset *ds);

/* Extra targets computed from target 0 (a class label) of an image dataset:
 * entry k of `map` is what label k becomes. kind CLASS: map holds
 * `classes`-valued indices (one float each); NUMERICAL: f floats per label;
 * BOOLEAN: one 0/1 float per label; MULTILABEL: f = classes floats per
 * label (multi-hot). */
typedef struct cvl_derived_target {
    char name[64];
    cvl_data_kind kind;
    int64_t f, classes;
    int64_t n_labels;        /* entries of map: must be the base's classes */
    float *map;              /* (n_labels, f), f 1 for CLASS */
    char *const *categories; /* CLASS, MULTILABEL: classes names (may be NULL) */
} cvl_derived_target;

/* A dataset that is `base` plus the derived targets after base's own. Takes
 * ownership of base (freed with the view); specs are copied, their map and
 * category arrays must outlive the view. */
cvl_status cvl_dataset_derive(cvl_dataset **out, cvl_dataset *base, const cvl_derived_target *specs, int n,
                              cvl_err *e);

/* ---- formats (readers from memory are what the fuzz targets drive) ---- */

/* IDX (MNIST / Fashion-MNIST): big-endian magic 00 00 08 NDIM, NDIM u32
 * sizes, then the bytes. Images NDIM 3 (n,rows,cols), labels NDIM 1 (n).
 * Files <root>/<split>-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]. */
cvl_status cvl_idx_read_mem(uint8_t **payload, int64_t *dims, const uint8_t *buf, size_t len, int want_ndim,
                            const char *path, cvl_err *e);
cvl_status cvl_dataset_idx_open(cvl_dataset **out, const char *root, const char *split, int classes, cvl_err *e);

/* CIFAR binary: records of <label bytes><3072 pixel bytes> (R plane, G, B,
 * 32x32 each). CIFAR-10: 1 label byte; CIFAR-100: 2 (coarse, fine; the fine
 * one is the label). */
cvl_status cvl_cifar_check_mem(int64_t *n, size_t len, int label_bytes, const uint8_t *buf, int classes,
                               const char *path, cvl_err *e);
cvl_status cvl_dataset_cifar_open(cvl_dataset **out, const char *const *files, int n_files, int label_bytes,
                                  int classes, cvl_err *e);

/* Folder: root/<class>/<image> (.png .jpg .jpeg .bmp .gif), classes are the
 * sorted sub-directory names; each image is decoded when read, converted to
 * gray (c 1) or RGB (c 3) and resized bilinearly to (h,w). Images with an
 * alpha channel are refused. */
cvl_status cvl_dataset_folder_open(cvl_dataset **out, const char *root, int64_t c, int64_t h, int64_t w, cvl_err *e);
/* The same over another tree (a test split) with the classes of `like`:
 * a class missing under root is fine, a sub-directory that is not one of
 * like's classes is an error. */
cvl_status cvl_dataset_folder_open_like(cvl_dataset **out, const char *root, const cvl_dataset *like, cvl_err *e);
const char *cvl_dataset_folder_class(const cvl_dataset *folder, int k);
/* out is (c,h,w) in [0,1]; buf is a whole PNG/JPEG/BMP/GIF file. */
cvl_status cvl_image_decode_mem(float *out, const uint8_t *buf, size_t len, int64_t c, int64_t h, int64_t w,
                                const char *path, cvl_err *e);

/* Reads a whole file, gunzipping when it starts with the gzip magic. */
cvl_status cvl_data_read_file(uint8_t **out, size_t *len, const char *path, cvl_err *e);

/* ---- randomness ---- */
uint64_t cvl_data_hash(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream);
/* Uniform in [0,1) from the hash. */
float cvl_data_uniform(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream);
/* perm is a permutation of [0,n) determined by (seed, epoch). */
void cvl_data_shuffle(int64_t *perm, int64_t n, uint64_t seed, uint64_t epoch);

#endif
