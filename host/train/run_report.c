/* run_report.c -- report.html of a run, drawn from what the run wrote
 * (metrics.jsonl, results.json, the grid), so it can be rebuilt any time. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/report.h"
#include "train/session.h"

typedef struct series_buf {
    double *x, *y;
    int32_t n, cap;
} series_buf;

static void push(series_buf *s, double x, double y) {
    if (s->n == s->cap) {
        int32_t cap = s->cap ? 2 * s->cap : 256;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (nx == NULL) return;
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (ny == NULL) return;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

static double num(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    if (json_is_number(v)) return json_number_value(v);
    return NAN; /* absent, or "NaN" written as a string */
}

cvl_status cvl_run_report(const char *run_dir, const cvl_session *s, cvl_err *e) {
    char p[1200];
    FILE *f = fopen(cvl_run_path(p, sizeof p, run_dir, "metrics.jsonl"), "r");
    if (f == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot read", p);
    series_buf tl = {0}, vl = {0}, va = {0}, lr = {0};
    const char *main_key = NULL;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (j == NULL) continue;
        const char *split = json_string_value(json_object_get(j, "split"));
        double step = num(j, "step");
        if (split && strcmp(split, "train") == 0) {
            push(&tl, step, num(j, "loss"));
            push(&lr, step, num(j, "lr"));
        } else if (split && strcmp(split, "val") == 0) {
            push(&vl, step, num(j, "loss"));
            const char *k = json_object_get(j, "accuracy") ? "accuracy" : json_object_get(j, "mae") ? "mae" : NULL;
            if (k) {
                main_key = k;
                push(&va, step, num(j, k));
            }
        }
        json_decref(j);
    }
    free(line);
    fclose(f);

    cvl_report_series loss[2] = {{"train loss", tl.x, tl.y, tl.n}, {"validation loss", vl.x, vl.y, vl.n}};
    cvl_report_series acc = {main_key ? main_key : "metric", va.x, va.y, va.n};
    cvl_report_series lrs = {"learning rate", lr.x, lr.y, lr.n};
    cvl_report_plot plots[3] = {{"Loss", "step", "loss", loss, vl.n ? 2 : 1}};
    int32_t n_plots = 1;
    if (va.n) plots[n_plots++] = (cvl_report_plot){"Validation", "step", main_key, &acc, 1};
    plots[n_plots++] = (cvl_report_plot){"Learning rate", "step", "lr", &lrs, 1};

    /* results.json: final metrics and the confusion matrix */
    json_error_t je;
    json_t *res = json_load_file(cvl_run_path(p, sizeof p, run_dir, "results.json"), 0, &je);
    const json_t *m = res ? json_object_get(res, "metrics") : NULL;
    cvl_report_metric finals[64];
    int32_t n_final = 0;
    char names[64][96];
    const char *key;
    json_t *v;
    const char *split = res ? json_string_value(json_object_get(res, "split")) : NULL;
    json_object_foreach((json_t *)m, key, v) {
        if (!json_is_number(v) || n_final == 64) continue;
        snprintf(names[n_final], sizeof names[n_final], "%s %s", split ? split : "", key);
        finals[n_final] = (cvl_report_metric){names[n_final], json_number_value(v)};
        n_final++;
    }
    const json_t *conf = m ? json_object_get(m, "confusion") : NULL;
    int32_t K = (int32_t)json_array_size(conf);
    int64_t *cm = K ? calloc((size_t)K * (size_t)K, sizeof *cm) : NULL;
    for (int32_t i = 0; cm && i < K; i++)
        for (int32_t j = 0; j < K; j++) cm[i * K + j] = json_integer_value(json_array_get(json_array_get(conf, (size_t)i), (size_t)j));

    char stem[512], steps[32], device[128];
    snprintf(stem, sizeof stem, "%s", s->cfg->source);
    snprintf(steps, sizeof steps, "%.0f", tl.n ? tl.x[tl.n - 1] : 0.0);
    snprintf(device, sizeof device, "%s", s->dev.dev ? "vulkan" : "cpu");
    json_t *ib = NULL;
    const char *model = cvl_config_component(s->cfg, "image_backbone", &ib);
    json_decref(ib);
    cvl_report_kv info[] = {{"config", stem},
                            {"run directory", run_dir},
                            {"image backbone", model ? model : "?"},
                            {"dataset", s->dc.root},
                            {"device", device},
                            {"optimizer steps", steps}};
    cvl_report_image img = {"The first training batch, augmented", cvl_run_path(p, sizeof p, run_dir, "augmented_batch.png")};
    bool has_img = access(p, R_OK) == 0;
    char title[300];
    snprintf(title, sizeof title, "cvlization run: %s", run_dir);
    cvl_report r = {.title = title,
                    .info = info,
                    .n_info = (int32_t)(sizeof info / sizeof info[0]),
                    .plots = plots,
                    .n_plots = n_plots,
                    .final_metrics = finals,
                    .n_final = n_final,
                    .confusion = cm,
                    .n_classes = cm ? K : 0,
                    .class_names = s->dc.class_names && s->dc.classes == K ? (const char *const *)s->dc.class_names : NULL,
                    .images = has_img ? &img : NULL,
                    .n_images = has_img ? 1 : 0};
    char out[1200];
    cvl_report_write(cvl_run_path(out, sizeof out, run_dir, "report.html"), &r, e);
    free(cm);
    json_decref(res);
    free(tl.x), free(tl.y), free(vl.x), free(vl.y), free(va.x), free(va.y), free(lr.x), free(lr.y);
    return e->status;
}
