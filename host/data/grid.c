/* The PNG grid of a batch: what a person opens to see the augmentation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "data/data_config.h"

/* 3x5 digits, one row per 3 bits, top row first. */
static const uint16_t digits[10] = {075557, 026227, 071747, 071717, 055711, 074717, 074757, 071111, 075757, 075717};

#define ZOOM 2
#define FONT 2 /* font pixel size */
#define STRIP (5 * FONT + 4)

static void draw_number(uint8_t *rgb, int64_t stride, int64_t x0, int64_t y0, int label) {
    char s[16];
    snprintf(s, sizeof s, "%d", label);
    for (int i = 0; s[i]; i++)
        for (int r = 0; r < 5; r++)
            for (int col = 0; col < 3; col++) {
                if (!((digits[s[i] - '0'] >> (3 * (4 - r) + (2 - col))) & 1)) continue;
                for (int dy = 0; dy < FONT; dy++)
                    for (int dx = 0; dx < FONT; dx++) {
                        uint8_t *p = rgb + ((y0 + r * FONT + dy) * stride + x0 + (i * 4 + col) * FONT + dx) * 3;
                        p[0] = 255, p[1] = 220, p[2] = 0;
                    }
            }
}

/* Each tile is stretched from its own min..max so normalized and raw
 * images both show. */
static void draw_tile(uint8_t *rgb, int64_t stride, int64_t x0, int64_t y0, const float *img, int64_t c, int64_t h,
                      int64_t w) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < c * h * w; i++) lo = fminf(lo, img[i]), hi = fmaxf(hi, img[i]);
    float k = hi > lo ? 255.0f / (hi - lo) : 0;
    for (int64_t y = 0; y < h * ZOOM; y++)
        for (int64_t x = 0; x < w * ZOOM; x++)
            for (int ch = 0; ch < 3; ch++) {
                float v = img[((ch < c ? ch : 0) * h + y / ZOOM) * w + x / ZOOM];
                rgb[((y0 + y) * stride + x0 + x) * 3 + ch] = (uint8_t)lrintf((v - lo) * k);
            }
}

static void write_cb(void *ctx, void *data, int size) {
    FILE *f = ctx;
    if (fwrite(data, 1, (size_t)size, f) != (size_t)size) { /* checked by ferror below */ }
}

static cvl_status write_atomic_png(const char *path, const uint8_t *rgb, int w, int h, const char *sidecar,
                                   cvl_err *e) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot create", tmp);
    int ok = stbi_write_png_to_func(write_cb, f, w, h, 3, rgb, w * 3) != 0;
    ok = ok && fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return cvl_err_set(e, CVL_ERR_IO, "%s: cannot write the PNG grid", path);
    }
    snprintf(tmp, sizeof tmp, "%s.txt", path);
    char tmp2[1200];
    snprintf(tmp2, sizeof tmp2, "%s.tmp.%d", tmp, (int)getpid());
    f = fopen(tmp2, "w");
    ok = f != NULL && fputs(sidecar, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f != NULL) ok = (fclose(f) == 0) && ok;
    if (ok) ok = rename(tmp2, tmp) == 0;
    if (!ok) {
        unlink(tmp2);
        return cvl_err_set(e, CVL_ERR_IO, "%s: cannot write the label list", tmp);
    }
    return CVL_OK;
}

cvl_status cvl_data_write_grid(const char *path, const cvl_batch *b, char *const *class_names, int n_classes,
                               cvl_err *e) {
    int ii = cvl_data_first_image(b->input_decl, b->n_inputs);
    if (ii < 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: the batch has no image input", path);
    const cvl_data_decl *in = &b->input_decl[ii];
    int64_t n = b->n, cols = (int64_t)ceil(sqrt((double)n)), rows = n > 0 ? (n + cols - 1) / cols : 0;
    int64_t tw = in->w * ZOOM + 2, th = in->h * ZOOM + STRIP;
    int64_t W = cols * tw, H = rows * th;
    if (n == 0 || W * H > (int64_t)1 << 26) return cvl_err_set(e, CVL_ERR_INVALID, "%s: grid of %lld tiles is empty or too large", path, (long long)n);
    uint8_t *rgb = calloc((size_t)(W * H * 3), 1);
    size_t side_cap = (size_t)n * 80 + 64, used = 0;
    char *side = malloc(side_cap);
    if (rgb == NULL || side == NULL) {
        free(rgb);
        free(side);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", path);
    }
    side[0] = 0;
    int64_t m = in->c * in->h * in->w;
    int ct = cvl_data_first_class(b->target_decl, b->n_targets);
    for (int64_t i = 0; i < n; i++) {
        int64_t x0 = (i % cols) * tw + 1, y0 = (i / cols) * th;
        draw_tile(rgb, W, x0, y0, b->inputs[ii] + i * m, in->c, in->h, in->w);
        int lab = ct >= 0 ? b->labels[ct][i] : -1;
        if (lab >= 0) draw_number(rgb, W, x0 + 1, y0 + in->h * ZOOM + 2, lab);
        const char *name = lab >= 0 && lab < n_classes && class_names != NULL ? class_names[lab] : "";
        used += (size_t)snprintf(side + used, side_cap - used, "tile %lld (row %lld, col %lld): label %d %.40s\n",
                                 (long long)i, (long long)(i / cols), (long long)(i % cols), lab, name);
    }
    cvl_status st = write_atomic_png(path, rgb, (int)W, (int)H, side, e);
    free(rgb);
    free(side);
    return st;
}
