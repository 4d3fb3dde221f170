/* libFuzzer target: the IDX header and size checks. Input: one byte
 * choosing 1 or 3 axes, then the file. */
#include "train/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int64_t dims[3];
    size_t payload;
    cvl_err e = {0};
    int ndim = data[0] & 1 ? 3 : 1;
    if (cvl_idx_parse(data + 1, size - 1, ndim, &payload, dims, "fuzz.idx", &e) == CVL_OK) {
        /* the payload the checks admitted must be inside the buffer */
        size_t n = 1;
        for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
        if (payload + n != size - 1) __builtin_trap();
    }
    return 0;
}
