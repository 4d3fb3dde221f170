/* libFuzzer: the CSV parser on arbitrary bytes; every parsed table must be
 * rectangular with NUL-terminated cells inside its text. */
#include <string.h>

#include "data/ds_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvl_csv_table t;
    cvl_err e = {0};
    if (cvl_csv_parse_mem(&t, (const char *)data, size, "fuzz", &e) != CVL_OK) return 0;
    size_t total = 0;
    for (int64_t i = 0; i < t.rows * t.cols; i++) total += strlen(t.cells[i]);
    if (total > size) __builtin_trap();
    cvl_csv_table_free(&t);
    return 0;
}
