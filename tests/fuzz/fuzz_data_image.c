/* libFuzzer: the image decoder path (stb_image + checks + resize) on
 * arbitrary bytes, as gray and as RGB at a fixed shape. */
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static float out[3 * 16 * 16];
    cvl_err e = {0};
    (void)cvl_image_decode_mem(out, data, size, 1, 16, 16, "fuzz", &e);
    cvl_err_clear(&e);
    (void)cvl_image_decode_mem(out, data, size, 3, 16, 16, "fuzz", &e);
    return 0;
}
