/* idx.h -- MNIST / Fashion-MNIST IDX files (gzipped or raw), read whole.
 *
 * Format: a big-endian header -- magic 0x0000 0x08 NDIM (0x08: unsigned
 * bytes), then NDIM 32-bit sizes -- followed by the product of the sizes in
 * bytes. Images are NDIM 3 (n, rows, cols), labels NDIM 1 (n). Every check
 * (magic, dimensions against the file size, label range, truncated or
 * corrupt gzip) fails with one line naming the file. */
#ifndef CVL_TRAIN_IDX_H
#define CVL_TRAIN_IDX_H

#include <stdint.h>

#include "util/err.h"

typedef struct cvl_idx_split {
    uint8_t *images; /* n * rows * cols */
    uint8_t *labels; /* n */
    int64_t n, rows, cols;
} cvl_idx_split;

/* Reads <root>/<prefix>-images-idx3-ubyte[.gz] and the labels beside it;
 * labels must be < classes. */
cvl_status cvl_idx_load(cvl_idx_split *s, const char *root, const char *prefix, int classes, cvl_err *e);
void cvl_idx_free(cvl_idx_split *s);

/* Checks an in-memory (decompressed) IDX file of `want_ndim` axes: fills
 * dims and the payload's byte offset. `path` is for messages only. */
cvl_status cvl_idx_parse(const uint8_t *buf, size_t len, int want_ndim, size_t *payload, int64_t *dims,
                         const char *path, cvl_err *e);

#endif
