/* libFuzzer: the IDX reader (and the gzip path) on arbitrary bytes. */
#include <stdlib.h>

#include "data/dataset.h"

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvl_err e = {0};
    int64_t dims[3];
    uint8_t *payload;
    for (int nd = 1; nd <= 3; nd += 2)
        if (cvl_idx_read_mem(&payload, dims, data, size, nd, "fuzz", &e) == CVL_OK) {
            int64_t n = 1;
            for (int i = 0; i < nd; i++) n *= dims[i];
            uint8_t sum = 0;
            for (int64_t i = 0; i < n; i++) sum += payload[i]; /* the payload really is in bounds */
            sink = sum;
        }
    return 0;
}
