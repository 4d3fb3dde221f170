/* libFuzzer: the CIFAR record check on arbitrary bytes, both layouts. */
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvl_err e = {0};
    int64_t n;
    if (cvl_cifar_check_mem(&n, size, 1, data, 10, "fuzz", &e) == CVL_OK && n * 3073 != (int64_t)size) __builtin_trap();
    cvl_err_clear(&e);
    if (cvl_cifar_check_mem(&n, size, 2, data, 100, "fuzz", &e) == CVL_OK && n * 3074 != (int64_t)size) __builtin_trap();
    return 0;
}
