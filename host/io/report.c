/* report.html: the page described in report.h, drawn without any library. */
#include "io/report.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"

/* Plot geometry, in SVG user units. */
#define PW 560.0
#define PH 340.0
#define ML 64.0 /* margins: room for tick labels and axis titles */
#define MR 18.0
#define MT 40.0
#define MB 48.0
#define MARKERS_MAX 40

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static void put_escaped(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The tick step: 1, 2 or 5 x 10^k, giving about `want` intervals over span. */
static double nice_step(double span, int want) {
    double raw = span / want, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* A tick label with as many decimals as the step needs. */
static void tick_label(char *buf, size_t cap, double v, double step) {
    if (fabs(v) < step * 1e-9) v = 0; /* no "-0" or "1e-17" at the origin */
    double a = fabs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-4)) {
        snprintf(buf, cap, "%.3g", v);
        return;
    }
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, cap, "%.*f", decimals, v);
}

typedef struct axis {
    double lo, hi, step;
} axis;

/* Range over finite values, widened to whole ticks; a flat range is opened up. */
static axis make_axis(double lo, double hi, bool from_zero, double margin) {
    axis a;
    if (!(lo <= hi)) lo = 0, hi = 1; /* no data */
    if (from_zero && lo > 0 && lo < 0.5 * hi) lo = 0;
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
        lo -= pad, hi += pad;
    } else if (margin > 0) { /* keep a curve's extremes off the frame */
        double pad = (hi - lo) * margin;
        lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad; /* no negative ticks for a loss */
        hi += pad;
    }
    a.step = nice_step(hi - lo, 5);
    a.lo = floor(lo / a.step + 1e-9) * a.step;
    a.hi = ceil(hi / a.step - 1e-9) * a.step;
    return a;
}

/* Intervals between ticks; -1 (no ticks) for a range too wide to draw. */
static int tick_count(const axis *a) {
    double n = (a->hi - a->lo) / a->step;
    return n >= 1 && n <= 20 ? (int)lround(n) : -1;
}

static double to_px(double v, const axis *a, double p0, double p1) {
    return p0 + (v - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

static void plot_ranges(const cvl_report_plot *p, double *xlo, double *xhi, double *ylo, double *yhi) {
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (int32_t s = 0; s < p->n_series; s++)
        for (int32_t i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            *xlo = fmin(*xlo, x), *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y), *yhi = fmax(*yhi, y);
        }
}

static void draw_axes(FILE *f, const cvl_report_plot *p, const axis *ax, const axis *ay) {
    double x0 = ML, x1 = PW - MR, y0 = PH - MB, y1 = MT;
    char lab[32];
    fprintf(f, "<g class=\"grid\">\n");
    for (int k = 0, nk = tick_count(ay); k <= nk; k++) {
        double v = ay->lo + k * ay->step, y = to_px(v, ay, y0, y1);
        tick_label(lab, sizeof lab, v, ay->step);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x0, y, x1, y);
        fprintf(f, "<text class=\"ty\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x0 - 6, y + 4, lab);
    }
    for (int k = 0, nk = tick_count(ax); k <= nk; k++) {
        double v = ax->lo + k * ax->step, x = to_px(v, ax, x0, x1);
        tick_label(lab, sizeof lab, v, ax->step);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y0, x, y1);
        fprintf(f, "<text class=\"tx\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, y0 + 16, lab);
    }
    fprintf(f, "</g>\n<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", x0, y1, x1 - x0,
            y0 - y1);
    fprintf(f, "<text class=\"xl\" x=\"%.1f\" y=\"%.1f\">", (x0 + x1) / 2, PH - 10);
    put_escaped(f, p->x_label);
    fprintf(f, "</text>\n<text class=\"yl\" transform=\"translate(16 %.1f) rotate(-90)\">", (y0 + y1) / 2);
    put_escaped(f, p->y_label);
    fprintf(f, "</text>\n");
}

/* One polyline per run of finite points; markers for short series. */
static void draw_series(FILE *f, const cvl_report_series *s, const char *color, const axis *ax, const axis *ay) {
    double x0 = ML, x1 = PW - MR, y0 = PH - MB, y1 = MT;
    bool open = false;
    for (int32_t i = 0; i < s->n; i++) {
        bool ok = isfinite(s->x[i]) && isfinite(s->y[i]);
        if (ok && !open) {
            fprintf(f, "<polyline class=\"series\" stroke=\"%s\" points=\"", color);
            open = true;
        } else if (!ok && open) {
            fprintf(f, "\"/>\n");
            open = false;
        }
        if (ok) fprintf(f, "%.1f,%.1f ", to_px(s->x[i], ax, x0, x1), to_px(s->y[i], ay, y0, y1));
    }
    if (open) fprintf(f, "\"/>\n");
    if (s->n > MARKERS_MAX) return;
    for (int32_t i = 0; i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i]))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%g, %g</title></circle>\n",
                    to_px(s->x[i], ax, x0, x1), to_px(s->y[i], ay, y0, y1), color, s->x[i], s->y[i]);
}

static void draw_legend(FILE *f, const cvl_report_plot *p) {
    double x = ML;
    for (int32_t s = 0; s < p->n_series; s++) {
        const char *label = p->series[s].label ? p->series[s].label : "";
        fprintf(f, "<line class=\"key\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x, MT - 12, x + 18,
                MT - 12, palette[s % 10]);
        fprintf(f, "<text class=\"lg\" x=\"%.1f\" y=\"%.1f\">", x + 23, MT - 8);
        put_escaped(f, label);
        fprintf(f, "</text>\n");
        x += 23 + 7.0 * (double)strlen(label) + 18; /* about 7 units per character at 12px */
    }
}

static void write_plot(FILE *f, const cvl_report_plot *p) {
    double xlo, xhi, ylo, yhi;
    plot_ranges(p, &xlo, &xhi, &ylo, &yhi);
    axis ax = make_axis(xlo, xhi, true, 0), ay = make_axis(ylo, yhi, false, 0.03);
    fprintf(f, "<figure class=\"plot\"><figcaption>");
    put_escaped(f, p->title);
    fprintf(f, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", PW,
            PH);
    draw_axes(f, p, &ax, &ay);
    if (!(xlo <= xhi))
        fprintf(f, "<text class=\"xl\" x=\"%.1f\" y=\"%.1f\">no data</text>\n", (ML + PW - MR) / 2, (MT + PH - MB) / 2);
    for (int32_t s = 0; s < p->n_series; s++) draw_series(f, &p->series[s], palette[s % 10], &ax, &ay);
    draw_legend(f, p);
    fprintf(f, "</svg></figure>\n");
}

static void write_kv_table(FILE *f, const char *cls, const cvl_report_kv *kv, int32_t n) {
    fprintf(f, "<table class=\"%s\">\n", cls);
    for (int32_t i = 0; i < n; i++) {
        fprintf(f, "<tr><th>");
        put_escaped(f, kv[i].key);
        fprintf(f, "</th><td>");
        put_escaped(f, kv[i].value);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void write_final(FILE *f, const cvl_report_metric *m, int32_t n) {
    fprintf(f, "<h2>Final metrics</h2>\n<table class=\"final\">\n<tr><th>metric</th><th>value</th></tr>\n");
    for (int32_t i = 0; i < n; i++) {
        fprintf(f, "<tr><td>");
        put_escaped(f, m[i].name);
        fprintf(f, "</td><td class=\"num\">%.6g</td></tr>\n", m[i].value);
    }
    fprintf(f, "</table>\n");
}

static void class_name(FILE *f, const cvl_report *r, int32_t c) {
    if (r->class_names && r->class_names[c]) put_escaped(f, r->class_names[c]);
    else fprintf(f, "%d", c);
}

static void write_confusion(FILE *f, const cvl_report *r) {
    int32_t n = r->n_classes;
    int64_t total = 0, right = 0;
    fprintf(f, "<h2>Confusion matrix</h2>\n<p class=\"note\">Rows: true class. Columns: predicted class. "
               "Shade: share of the row.</p>\n<table class=\"cm\">\n<tr><th class=\"corner\">true \\ predicted</th>");
    for (int32_t c = 0; c < n; c++) {
        fprintf(f, "<th class=\"col\">");
        class_name(f, r, c);
        fprintf(f, "</th>");
    }
    fprintf(f, "<th class=\"col\">recall</th></tr>\n");
    for (int32_t t = 0; t < n; t++) {
        const int64_t *row = r->confusion + (size_t)t * (size_t)n;
        int64_t sum = 0;
        for (int32_t p = 0; p < n; p++) sum += row[p];
        total += sum;
        right += row[t];
        fprintf(f, "<tr><th>");
        class_name(f, r, t);
        fprintf(f, "</th>");
        for (int32_t p = 0; p < n; p++) {
            double share = sum > 0 ? (double)row[p] / (double)sum : 0;
            /* white to a deep blue; light text once the cell is dark */
            int red = (int)lround(255 - share * (255 - 8)), green = (int)lround(255 - share * (255 - 48)),
                blue = (int)lround(255 - share * (255 - 107));
            fprintf(f, "<td style=\"background:rgb(%d,%d,%d);color:%s\"%s>%lld</td>", red, green, blue,
                    share > 0.5 ? "#fff" : "#222", p == t ? " class=\"diag\"" : "", (long long)row[p]);
        }
        fprintf(f, "<td class=\"num\">%.1f%%</td></tr>\n", sum > 0 ? 100.0 * (double)row[t] / (double)sum : 0.0);
    }
    fprintf(f, "</table>\n<p>Accuracy: %.2f%% (%lld of %lld)</p>\n", total > 0 ? 100.0 * (double)right / (double)total : 0.0,
            (long long)right, (long long)total);
}

static void base64(FILE *f, const uint8_t *p, size_t n) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(t[v >> 18 & 63], f);
        fputc(t[v >> 12 & 63], f);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? t[v & 63] : '=', f);
    }
}

static cvl_status write_image(FILE *f, const cvl_report_image *im, cvl_err *e) {
    FILE *in = fopen(im->path, "rb");
    if (in == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot read image for the report: %s", im->path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            uint8_t *b = realloc(buf, cap);
            if (b == NULL) {
                free(buf);
                fclose(in);
                return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", im->path);
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, in);
        n += got;
    } while (got > 0);
    bool bad = ferror(in);
    fclose(in);
    if (bad) {
        free(buf);
        return cvl_err_set(e, CVL_ERR_IO, "%s: read error", im->path);
    }
    fprintf(f, "<figure class=\"image\"><img alt=\"");
    put_escaped(f, im->caption);
    fprintf(f, "\" src=\"data:image/png;base64,");
    base64(f, buf, n);
    fprintf(f, "\"><figcaption>");
    put_escaped(f, im->caption);
    fprintf(f, "</figcaption></figure>\n");
    free(buf);
    return CVL_OK;
}

static const char style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;max-width:1180px;"
    "margin:24px auto;padding:0 16px}\n"
    "h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse}th,td{padding:3px 10px;text-align:left}\n"
    "table.info th,table.final th{color:#555;font-weight:600}table.final td.num{text-align:right}\n"
    "table.info tr:nth-child(even),table.final tr:nth-child(even){background:#f6f6f6}\n"
    ".plots{display:flex;flex-wrap:wrap;gap:12px}\n"
    "figure{margin:0}figure.plot{flex:1 1 520px;max-width:580px}figcaption{font-weight:600;margin:4px 0}\n"
    "svg{width:100%;height:auto;font-size:12px}\n"
    ".grid line{stroke:#e6e6e6}.frame{fill:none;stroke:#888}\n"
    ".ty{text-anchor:end;fill:#555}.tx{text-anchor:middle;fill:#555}.xl,.yl{text-anchor:middle;fill:#333}\n"
    ".series{fill:none;stroke-width:1.8;stroke-linejoin:round}.key{stroke-width:3}.lg{fill:#333}\n"
    "table.cm td{text-align:right;min-width:44px;font-variant-numeric:tabular-nums;border:1px solid #fff}\n"
    "table.cm td.diag{font-weight:700}table.cm th{font-weight:600;font-size:12px}table.cm th.col{text-align:center}\n"
    "table.cm td.num{background:#f6f6f6;color:#222}.note{color:#666;margin:0 0 6px}\n"
    "figure.image img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd}\n";

static void write_page(FILE *f, const cvl_report *r) {
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    put_escaped(f, r->title ? r->title : "cvlization report");
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    put_escaped(f, r->title ? r->title : "cvlization report");
    fprintf(f, "</h1>\n");
    if (r->n_info > 0) write_kv_table(f, "info", r->info, r->n_info);
    if (r->n_plots > 0) {
        fprintf(f, "<h2>Curves</h2>\n<div class=\"plots\">\n");
        for (int32_t i = 0; i < r->n_plots; i++) write_plot(f, &r->plots[i]);
        fprintf(f, "</div>\n");
    }
    if (r->n_final > 0) write_final(f, r->final_metrics, r->n_final);
    if (r->confusion && r->n_classes > 0) write_confusion(f, r);
}

cvl_status cvl_report_write(const char *path, const cvl_report *r, cvl_err *e) {
    cvl_atomic_file *af;
    cvl_status st = cvl_atomic_open(&af, path, e);
    if (st != CVL_OK) return st;
    FILE *f = cvl_atomic_stream(af);
    write_page(f, r);
    if (r->n_images > 0) fprintf(f, "<h2>Images</h2>\n");
    for (int32_t i = 0; i < r->n_images && st == CVL_OK; i++) st = write_image(f, &r->images[i], e);
    if (st != CVL_OK) {
        cvl_atomic_abort(af);
        return st;
    }
    fprintf(f, "</body>\n</html>\n");
    return cvl_atomic_commit(af, e);
}
