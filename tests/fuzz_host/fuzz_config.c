/* libFuzzer target: training configs. Input: a JSON document, then
 * optionally "\n--set " lines applied as overrides. */
#include <stdlib.h>
#include <string.h>

#include "train/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *sets[8];
    size_t n_sets = 0;
    for (char *p = strstr(text, "\n--set "); p && n_sets < 8; p = strstr(p + 1, "\n--set ")) {
        *p = '\0';
        sets[n_sets++] = p + 7;
    }
    for (size_t i = 0; i < n_sets; i++) {
        char *nl = strchr(sets[i], '\n');
        if (nl) *nl = '\0';
    }
    json_t *root = json_loads(text, JSON_DECODE_ANY, NULL);
    if (root) {
        cvl_config cfg;
        cvl_err e = {0};
        if (cvl_config_from_json(&cfg, root, "fuzz.json", sets, n_sets, &e) == CVL_OK) {
            cvl_config_int(&cfg, "epochs");
            cvl_config_string(&cfg, "dataset.root");
            json_t *params;
            cvl_config_component(&cfg, "image_backbone", &params);
            json_decref(params);
        }
        cvl_config_free(&cfg);
        json_decref(root);
    }
    free(text);
    return 0;
}
