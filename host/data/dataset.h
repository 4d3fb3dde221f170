/* dataset.h -- datasets behind one interface, transforms, a threaded loader.
 *
 * The data layer knows nothing of graphs or backends: it yields host float
 * batches. A dataset declares its inputs (an image (C,H,W) or a numerical
 * vector (F)) and its targets (a class index); get_sample writes one sample
 * into caller-owned buffers. Images come out in [0,1] before transforms.
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

typedef enum cvl_data_kind { CVL_DATA_IMAGE, CVL_DATA_NUMERICAL, CVL_DATA_CLASS } cvl_data_kind;

typedef struct cvl_data_decl {
    char name[64];
    cvl_data_kind kind;
    int64_t c, h, w;  /* image: (C,H,W) */
    int64_t f;        /* numerical: (F) */
    int64_t classes;  /* class target: labels in [0, classes) */
} cvl_data_decl;

typedef struct cvl_dataset cvl_dataset;

typedef struct cvl_dataset_vt {
    int64_t (*size)(const cvl_dataset *ds);
    /* inputs[i] is (C*H*W) or (F) floats; labels[t] one int32 per target.
     * Must be safe to call from several threads at once. */
    cvl_status (*get_sample)(float **inputs, int32_t *labels, const cvl_dataset *ds, int64_t index, cvl_err *e);
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
