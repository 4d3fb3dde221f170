/* report.h -- report.html: one self-contained page a person opens after a
 * run (no scripts, no external assets, works offline and as an e-mail
 * attachment).
 *
 * WHAT THE PAGE HOLDS, top to bottom
 *   - the title and a table of run facts (model, dataset, device, time...);
 *   - line plots drawn as inline SVG, two per row: each has a title, axes
 *     with "nice" ticks (1, 2, 5 x 10^k) and labels, a legend, and one
 *     polyline per series (with point markers when a series has at most 40
 *     points, e.g. per-epoch validation metrics). Non-finite y values break
 *     the line (a diverged loss shows as a gap, not as a spike to infinity);
 *   - a table of final metrics;
 *   - the confusion matrix as an HTML table heatmap: rows are true classes,
 *     columns predicted ones, each cell shaded by its share of the row (so a
 *     rare class reads as clearly as a common one) and showing the count, with
 *     per-class recall and the overall accuracy;
 *   - images (e.g. the augmented batch PNG) embedded as base64 data: URIs.
 * Every string is HTML-escaped. The file is written atomically.
 *
 *   cvl_report_series loss = {"train loss", steps, losses, n_steps};
 *   cvl_report_plot plots[] = {{"Training loss", "step", "loss", &loss, 1}};
 *   cvl_report r = {.title = "cnn / fashion_mnist", .plots = plots, .n_plots = 1,
 *                   .confusion = cm, .n_classes = 10, .class_names = names};
 *   cvl_report_write("runs/x/report.html", &r, &e);
 */
#ifndef CVL_IO_REPORT_H
#define CVL_IO_REPORT_H

#include <stdint.h>

#include "util/err.h"

typedef struct cvl_report_series {
    const char *label;
    const double *x, *y; /* n points, x ascending for a sensible line */
    int32_t n;
} cvl_report_series;

typedef struct cvl_report_plot {
    const char *title, *x_label, *y_label;
    const cvl_report_series *series;
    int32_t n_series;
} cvl_report_plot;

typedef struct cvl_report_kv {
    const char *key, *value;
} cvl_report_kv;

typedef struct cvl_report_metric {
    const char *name;
    double value; /* printed with up to 6 significant digits */
} cvl_report_metric;

typedef struct cvl_report_image {
    const char *caption;
    const char *path; /* a PNG file, embedded */
} cvl_report_image;

typedef struct cvl_report {
    const char *title;
    const cvl_report_kv *info; /* run facts */
    int32_t n_info;
    const cvl_report_plot *plots;
    int32_t n_plots;
    const cvl_report_metric *final_metrics;
    int32_t n_final;
    const int64_t *confusion; /* (n_classes, n_classes), [true][predicted]; NULL: none */
    int32_t n_classes;
    const char *const *class_names; /* n_classes, or NULL for "0", "1", ... */
    const cvl_report_image *images;
    int32_t n_images;
} cvl_report;

/* Writes the page; fails (old file intact) when `path` cannot be written or
 * an image cannot be read. */
cvl_status cvl_report_write(const char *path, const cvl_report *r, cvl_err *e);

#endif
