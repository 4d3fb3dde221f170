/* libFuzzer target: the typed-value parser (plugin defaults, --set text)
 * for every parameter type. Input: one type byte, then the text. */
#include <stdlib.h>
#include <string.h>

#include "plugins/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    cvl_value v;
    cvl_err e = {0};
    cvl_param_type type = (cvl_param_type)(1 + data[0] % 6);
    if (cvl_value_parse(&v, type, text, &e) == CVL_OK) {
        char buf[256];
        cvl_value_format(&v, buf, sizeof buf);
        json_t *j = cvl_value_to_json(&v);
        cvl_value copy;
        if (cvl_value_copy(&copy, &v) == CVL_OK) cvl_value_free(&copy);
        json_decref(j);
        cvl_value_free(&v);
    }
    free(text);
    return 0;
}
