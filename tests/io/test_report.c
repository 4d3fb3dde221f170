/* report.html: tags balance, nothing external, every number given appears,
 * plotted points land inside the plot frame in the right order, escaping,
 * the confusion matrix arithmetic, the embedded image, atomic failure.
 * argv[1] (optional): a directory to leave report.html in, for looking at. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/report.h"

/* The frame every plot draws in (report.c's PW, PH and margins). */
#define FX0 64.0
#define FX1 542.0
#define FY0 40.0
#define FY1 292.0

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* Every element closed in order; void elements and "/>" need no close.
 * Returns NULL when balanced, else the first offending tag. */
static const char *unbalanced(const char *s, char *why, size_t cap) {
    static const char *const void_tags[] = {"meta", "img", "br", "hr", "input", "link"};
    char stack[256][16];
    int depth = 0;
    for (const char *p = s; (p = strchr(p, '<')) != NULL; p++) {
        if (p[1] == '!') continue; /* doctype */
        bool closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strcspn(name, " >/\n");
        const char *end = strchr(p, '>');
        if (end == NULL || len == 0 || len >= 16) {
            snprintf(why, cap, "bad tag at %ld", (long)(p - s));
            return p;
        }
        char tag[16];
        memcpy(tag, name, len);
        tag[len] = '\0';
        bool self = end[-1] == '/';
        bool is_void = false;
        for (int i = 0; i < 6; i++) is_void |= strcmp(tag, void_tags[i]) == 0;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], tag) != 0) {
                snprintf(why, cap, "</%s> closes <%s>", tag, depth ? stack[depth - 1] : "(nothing)");
                return p;
            }
            depth--;
        } else if (!self && !is_void) {
            if (depth == 256) return p;
            snprintf(stack[depth++], 16, "%s", tag);
        }
    }
    if (depth != 0) {
        snprintf(why, cap, "<%s> never closed", stack[depth - 1]);
        return s;
    }
    return NULL;
}

typedef struct pts {
    double x[512], y[512];
    int n;
} pts;

/* The points of the k-th polyline in s. */
static bool polyline(pts *out, const char *s, int k) {
    const char *p = s;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "<polyline");
        if (p == NULL) return false;
        p++;
    }
    p = strstr(p, "points=\"");
    if (p == NULL) return false;
    p += 8;
    out->n = 0;
    while (*p != '"' && out->n < 512) {
        char *end;
        out->x[out->n] = strtod(p, &end);
        if (*end != ',') return false;
        out->y[out->n] = strtod(end + 1, &end);
        out->n++;
        p = end + strspn(end, " ");
    }
    return true;
}

int main(int argc, char **argv) {
    char tmpl[] = "/tmp/cvl-test-report-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    char path[512], img[512];
    snprintf(path, sizeof path, "%s/report.html", dir);
    snprintf(img, sizeof img, "%s/batch.png", dir);
    FILE *fi = fopen(img, "wb");
    fputs("hello", fi); /* any bytes: the report embeds, it does not decode */
    fclose(fi);

    /* Train loss per step: 2.3 * 0.99^step + 0.1, one NaN at step 120. */
    enum { NS = 200, NE = 10 };
    double step[NS], loss[NS], ep[NE], vloss[NE], vacc[NE];
    for (int i = 0; i < NS; i++) step[i] = i, loss[i] = 2.2 * pow(0.99, i) + 0.1;
    loss[120] = NAN;
    for (int i = 0; i < NE; i++) ep[i] = i + 1, vloss[i] = 0.9 - 0.05 * i, vacc[i] = 0.70 + 0.02 * i;
    cvl_report_series s_loss = {"train loss", step, loss, NS};
    cvl_report_series s_val[2] = {{"val loss", ep, vloss, NE}, {"val accuracy", ep, vacc, NE}};
    cvl_report_series s_none = {"nothing", NULL, NULL, 0};
    cvl_report_plot plots[] = {{"Training loss", "step", "loss", &s_loss, 1},
                               {"Validation", "epoch", "value", s_val, 2},
                               {"Empty", "x", "y", &s_none, 1}};
    cvl_report_kv info[] = {{"model", "cnn <script>alert(1)</script>"}, {"device", "cpu"}};
    cvl_report_metric fin[] = {{"test accuracy", 0.9123}, {"test loss", 0.25}};
    const char *names[] = {"T-shirt/top", "a<b&c", "Sneaker"};
    int64_t cm[9] = {50, 3, 2, 4, 40, 6, 0, 5, 45};
    cvl_report_image images[] = {{"augmented batch", img}};
    cvl_report r = {.title = "cnn / fashion_mnist", .info = info, .n_info = 2, .plots = plots, .n_plots = 3,
                    .final_metrics = fin, .n_final = 2, .confusion = cm, .n_classes = 3, .class_names = names,
                    .images = images, .n_images = 1};
    cvl_err e = {0};
    CHECK(cvl_report_write(path, &r, &e) == CVL_OK, "report written (%s)", e.msg);
    char *html = slurp(path);
    CHECK(html != NULL, "report readable");
    if (html == NULL) return tap_done();

    char why[128] = "";
    CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0 && strstr(html, "</html>\n") != NULL, "a whole HTML document");
    CHECK(unbalanced(html, why, sizeof why) == NULL, "every tag balanced (%s)", why);
    CHECK(count(html, "<svg") == 3 && count(html, "</svg>") == 3, "three SVG plots");
    CHECK(count(html, "<table") == 3 && count(html, "</table>") == 3, "info, final metrics and confusion tables");
    CHECK(count(html, "<script") == 0 && count(html, "<link") == 0 && count(html, "src=\"http") == 0 &&
              count(html, "url(") == 0,
          "no scripts, no external assets");
    CHECK(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;") == 1, "run facts are escaped");
    CHECK(count(html, "a&lt;b&amp;c") == 2 && count(html, "a<b&c") == 0, "class names escaped (row and column)");
    CHECK(count(html, "T-shirt/top") == 2 && count(html, ">Sneaker<") == 2, "class names label rows and columns");

    /* The NaN splits the loss into two lines; the val series are one each. */
    CHECK(count(html, "<polyline") == 4, "4 polylines (%d)", count(html, "<polyline"));
    CHECK(count(html, "<circle") == 2 * NE, "markers on the short series only (%d)", count(html, "<circle"));
    CHECK(count(html, ">no data</text>") == 1, "the empty plot says so");
    static pts a, b;
    CHECK(polyline(&a, html, 0) && polyline(&b, html, 1) && a.n == 120 && b.n == NS - 121,
          "loss lines hold 120 and 79 points (%d, %d)", a.n, b.n);
    int outside = 0, backwards = 0;
    for (int k = 0; k < 4; k++) {
        static pts q;
        q.n = 0;
        polyline(&q, html, k);
        for (int i = 0; i < q.n; i++) {
            outside += q.x[i] < FX0 - 0.05 || q.x[i] > FX1 + 0.05 || q.y[i] < FY0 - 0.05 || q.y[i] > FY1 + 0.05;
            backwards += i > 0 && q.x[i] <= q.x[i - 1];
        }
    }
    CHECK(outside == 0 && backwards == 0, "every point inside the frame (%d out), x increasing (%d not)", outside,
          backwards);
    /* y axis 0..2.5 (ticks of 0.5), x axis 0..200 (ticks of 50): the first
     * loss 2.3 sits at 2.3/2.5 of the height, step 0 on the left edge. */
    CHECK_NEAR(a.x[0], FX0, 0.051, "step 0 at the left edge");
    CHECK_NEAR(a.y[0], FY1 - 2.3 / 2.5 * (FY1 - FY0), 0.051, "loss 2.3 at its height");
    CHECK_NEAR(b.x[b.n - 1], FX0 + 199.0 / 200 * (FX1 - FX0), 0.051, "step 199 near the right edge");
    CHECK(a.y[0] < a.y[a.n - 1] && b.y[0] < b.y[b.n - 1], "a falling loss is drawn going down");
    CHECK(strstr(html, ">0.0</text>") && strstr(html, ">2.5</text>") && strstr(html, ">0.5</text>") &&
              !strstr(html, ">3.0</text>"),
          "loss ticks 0.0 .. 2.5");
    CHECK(strstr(html, ">200</text>") && strstr(html, ">150</text>") && !strstr(html, ">250</text>"), "step ticks to 200");
    CHECK(strstr(html, ">step</text>") && strstr(html, ">loss</text>") && strstr(html, ">epoch</text>"), "axis titles");
    CHECK(strstr(html, ">train loss</text>") && strstr(html, ">val loss</text>") && strstr(html, ">val accuracy</text>"),
          "legend entries");

    CHECK(strstr(html, ">0.9123</td>") && strstr(html, ">0.25</td>") && strstr(html, ">test accuracy</td>"),
          "final metrics listed");
    /* Row 0: 50 of 55 right; all: 135 of 155. */
    CHECK(strstr(html, ">90.9%</td>") && strstr(html, "Accuracy: 87.10% (135 of 155)"), "recall and accuracy");
    CHECK(strstr(html, "class=\"diag\">50</td>") && strstr(html, "class=\"diag\">45</td>") && strstr(html, ">6</td>"),
          "counts in the cells, diagonal marked");
    /* Shade: white (share 0) to rgb(8,48,107) (share 1), linearly. */
    char cell[128];
    double sh = 50.0 / 55;
    snprintf(cell, sizeof cell, "background:rgb(%ld,%ld,%ld);color:#fff\" class=\"diag\">50<", lround(255 - sh * 247),
             lround(255 - sh * 207), lround(255 - sh * 148));
    CHECK(strstr(html, cell) != NULL, "a 91%% cell is dark blue with light text: %s", cell);
    CHECK(strstr(html, "background:rgb(255,255,255);color:#222\">0<") != NULL, "an empty cell is white");
    CHECK(strstr(html, "data:image/png;base64,aGVsbG8=\"") != NULL, "image embedded as base64");
    free(html);

    /* Failure leaves the old report. */
    cvl_report_image missing[] = {{"gone", "/nonexistent/batch.png"}};
    r.images = missing;
    CHECK(cvl_report_write(path, &r, &e) == CVL_ERR_IO, "missing image is an error");
    CHECK_STR_CONTAINS(e.msg, "/nonexistent/batch.png: cannot read image", "naming the image");
    html = slurp(path);
    CHECK(html && strstr(html, "aGVsbG8=") != NULL, "old report intact");
    free(html);
    if (argc <= 1) {
        unlink(path);
        unlink(img);
        rmdir(dir);
    }
    return tap_done();
}
