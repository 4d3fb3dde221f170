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

#endif
