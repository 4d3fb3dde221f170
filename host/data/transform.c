#include <math.h>
#include <string.h>

#include "data/transform.h"

const char *cvl_transform_name(cvl_tf_kind k) {
    static const char *names[] = {"normalize", "random_crop", "hflip",  "vflip", "translate",  "rotate",
                                  "scale",     "brightness_contrast", "cutout", "pad", "resize", "center_crop"};
    return names[k];
}

/* The image mapped through the inverse of an affine map about the centre:
 * out(y,x) = in(A (y-cy, x-cx) + (cy+ty, cx+tx)), bilinear, zeros outside.
 * img is (c,h,w); tmp the same size. */
static void affine(float *img, float *tmp, int64_t c, int64_t h, int64_t w, float a, float b, float cc, float d,
                   float ty, float tx) {
    float cy = (float)(h - 1) * 0.5f, cx = (float)(w - 1) * 0.5f;
    memcpy(tmp, img, (size_t)(c * h * w) * sizeof *img);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            float dy = (float)y - cy, dx = (float)x - cx;
            float sy = a * dy + b * dx + cy + ty, sx = cc * dy + d * dx + cx + tx;
            float fy = floorf(sy), fx = floorf(sx);
            int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
            float wy = sy - fy, wx = sx - fx;
            for (int64_t ch = 0; ch < c; ch++) {
                const float *p = tmp + ch * h * w;
                float v = 0;
                for (int k = 0; k < 4; k++) {
                    int64_t yy = y0 + (k >> 1), xx = x0 + (k & 1);
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                    float wt = ((k >> 1) ? wy : 1 - wy) * ((k & 1) ? wx : 1 - wx);
                    v += wt * p[yy * w + xx];
                }
                img[ch * h * w + y * w + x] = v;
            }
        }
}

/* Integer shift with zero fill: a padded random crop. */
static void shift(float *img, float *tmp, int64_t c, int64_t h, int64_t w, int64_t oy, int64_t ox) {
    memcpy(tmp, img, (size_t)(c * h * w) * sizeof *img);
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                int64_t sy = y + oy, sx = x + ox;
                int in = sy >= 0 && sy < h && sx >= 0 && sx < w;
                img[(ch * h + y) * w + x] = in ? tmp[(ch * h + sy) * w + sx] : 0.0f;
            }
}

static void flip(float *img, int64_t c, int64_t h, int64_t w, int horizontal) {
    for (int64_t ch = 0; ch < c; ch++) {
        float *p = img + ch * h * w;
        if (horizontal) {
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w / 2; x++) {
                    float t = p[y * w + x];
                    p[y * w + x] = p[y * w + w - 1 - x];
                    p[y * w + w - 1 - x] = t;
                }
        } else {
            for (int64_t y = 0; y < h / 2; y++)
                for (int64_t x = 0; x < w; x++) {
                    float t = p[y * w + x];
                    p[y * w + x] = p[(h - 1 - y) * w + x];
                    p[(h - 1 - y) * w + x] = t;
                }
        }
    }
}

/* One step; u(j) is the step's j-th uniform draw for this sample. */
#define U(j) cvl_data_uniform(seed, epoch, index, stream + (j))
static void apply_one(float *img, float *tmp, const cvl_transform *t, int64_t c, int64_t h, int64_t w, uint64_t seed,
                      uint64_t epoch, uint64_t index, uint64_t stream) {
    int64_t m = h * w;
    switch (t->kind) {
    case CVL_TF_NORMALIZE:
        for (int64_t ch = 0; ch < c; ch++) {
            int k = ch < CVL_TF_MAX_CH ? (int)ch : 0;
            float mu = t->mean[k], inv = 1.0f / t->std[k];
            for (int64_t i = 0; i < m; i++) img[ch * m + i] = (img[ch * m + i] - mu) * inv;
        }
        break;
    case CVL_TF_RANDOM_CROP: {
        int64_t span = 2 * (int64_t)t->pad + 1;
        int64_t oy = (int64_t)(U(1) * (float)span) - t->pad, ox = (int64_t)(U(2) * (float)span) - t->pad;
        shift(img, tmp, c, h, w, oy, ox);
        break;
    }
    case CVL_TF_HFLIP: flip(img, c, h, w, 1); break;
    case CVL_TF_VFLIP: flip(img, c, h, w, 0); break;
    case CVL_TF_TRANSLATE: {
        float ty = (2 * U(1) - 1) * t->max_frac * (float)h, tx = (2 * U(2) - 1) * t->max_frac * (float)w;
        affine(img, tmp, c, h, w, 1, 0, 0, 1, ty, tx);
        break;
    }
    case CVL_TF_ROTATE: {
        float th = (2 * U(1) - 1) * t->degrees * (float)(3.14159265358979323846 / 180.0);
        float co = cosf(th), si = sinf(th);
        affine(img, tmp, c, h, w, co, -si, si, co, 0, 0);
        break;
    }
    case CVL_TF_SCALE: {
        float s = t->scale_lo + U(1) * (t->scale_hi - t->scale_lo);
        affine(img, tmp, c, h, w, 1 / s, 0, 0, 1 / s, 0, 0);
        break;
    }
    case CVL_TF_BRIGHTNESS_CONTRAST: {
        float db = (2 * U(1) - 1) * t->brightness, kc = 1 + (2 * U(2) - 1) * t->contrast;
        for (int64_t ch = 0; ch < c; ch++) {
            double mean = 0;
            for (int64_t i = 0; i < m; i++) mean += img[ch * m + i];
            float mu = (float)(mean / (double)m);
            for (int64_t i = 0; i < m; i++) img[ch * m + i] = (img[ch * m + i] - mu) * kc + mu + db;
        }
        break;
    }
    case CVL_TF_PAD:
    case CVL_TF_RESIZE:
    case CVL_TF_CENTER_CROP: break; /* reshape() */
    case CVL_TF_CUTOUT: {
        int64_t sh = (int64_t)(t->max_frac * (float)h), sw = (int64_t)(t->max_frac * (float)w);
        int64_t y0 = (int64_t)(U(1) * (float)h) - sh / 2, x0 = (int64_t)(U(2) * (float)w) - sw / 2;
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t y = y0 < 0 ? 0 : y0; y < y0 + sh && y < h; y++)
                for (int64_t x = x0 < 0 ? 0 : x0; x < x0 + sw && x < w; x++) img[ch * m + y * w + x] = 0;
        break;
    }
    }
}
#undef U

int cvl_transform_changes_shape(const cvl_transform *t) {
    return t->kind == CVL_TF_PAD || t->kind == CVL_TF_RESIZE || t->kind == CVL_TF_CENTER_CROP;
}

int cvl_transform_is_random(const cvl_transform *t) {
    if (cvl_transform_changes_shape(t)) return 0;
    return t->kind != CVL_TF_NORMALIZE || t->p < 1.0f;
}

/* The step's output shape (out may alias in). */
static void step_shape(int64_t out[3], const cvl_transform *t, const int64_t in[3]) {
    out[0] = in[0];
    if (t->kind == CVL_TF_PAD) {
        out[1] = in[1] + t->pads[0] + t->pads[1];
        out[2] = in[2] + t->pads[2] + t->pads[3];
    } else if (t->kind == CVL_TF_RESIZE || t->kind == CVL_TF_CENTER_CROP) {
        out[1] = t->size[0];
        out[2] = t->size[1];
    } else {
        out[1] = in[1];
        out[2] = in[2];
    }
}

cvl_status cvl_transform_shape(int64_t out[3], int64_t *max_elems, const cvl_transform *tf, int n_tf,
                               const int64_t in[3], cvl_err *e) {
    int64_t s[3] = {in[0], in[1], in[2]}, m = in[0] * in[1] * in[2];
    for (int k = 0; k < n_tf; k++) {
        int64_t o[3];
        step_shape(o, &tf[k], s);
        if (tf[k].kind == CVL_TF_CENTER_CROP && (o[1] > s[1] || o[2] > s[2]))
            return cvl_err_set(e, CVL_ERR_INVALID, "transforms[%d]: center_crop to [%lld,%lld] is larger than its input [%lld,%lld,%lld]",
                               k, (long long)o[1], (long long)o[2], (long long)s[0], (long long)s[1], (long long)s[2]);
        if (o[1] < 1 || o[2] < 1 || o[1] > 65536 || o[2] > 65536)
            return cvl_err_set(e, CVL_ERR_INVALID, "transforms[%d]: %s makes an image of [%lld,%lld,%lld]", k,
                               cvl_transform_name(tf[k].kind), (long long)o[0], (long long)o[1], (long long)o[2]);
        memcpy(s, o, sizeof s);
        if (s[0] * s[1] * s[2] > m) m = s[0] * s[1] * s[2];
    }
    memcpy(out, s, sizeof s);
    if (max_elems != NULL) *max_elems = m;
    return CVL_OK;
}

void cvl_resize_bilinear(float *out, const float *in, int64_t c, int64_t h, int64_t w, int64_t H, int64_t W) {
    float sy = (float)h / (float)H, sx = (float)w / (float)W;
    for (int64_t y = 0; y < H; y++) {
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        fy = fy < 0 ? 0 : fy;
        int64_t y0 = (int64_t)fy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        float wy = fy - (float)y0;
        for (int64_t x = 0; x < W; x++) {
            float fx = ((float)x + 0.5f) * sx - 0.5f;
            fx = fx < 0 ? 0 : fx;
            int64_t x0 = (int64_t)fx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float wx = fx - (float)x0;
            for (int64_t ch = 0; ch < c; ch++) {
                const float *p = in + ch * h * w;
                float v = (1 - wy) * ((1 - wx) * p[y0 * w + x0] + wx * p[y0 * w + x1]) +
                          wy * ((1 - wx) * p[y1 * w + x0] + wx * p[y1 * w + x1]);
                out[(ch * H + y) * W + x] = v;
            }
        }
    }
}

/* pad, resize, center_crop: tmp receives the new image, then it is copied
 * back so the caller's buffer always holds the result. */
static void reshape(float *img, float *tmp, const cvl_transform *t, int64_t s[3]) {
    int64_t c = s[0], h = s[1], w = s[2], o[3];
    step_shape(o, t, s);
    int64_t H = o[1], W = o[2];
    if (t->kind == CVL_TF_RESIZE) {
        cvl_resize_bilinear(tmp, img, c, h, w, H, W);
    } else {
        /* pad: (oy, ox) < 0 places the input inside zeros; center_crop: >= 0 */
        int64_t oy = t->kind == CVL_TF_PAD ? -(int64_t)t->pads[0] : (h - H) / 2;
        int64_t ox = t->kind == CVL_TF_PAD ? -(int64_t)t->pads[2] : (w - W) / 2;
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    int64_t sy = y + oy, sx = x + ox;
                    int in = sy >= 0 && sy < h && sx >= 0 && sx < w;
                    tmp[(ch * H + y) * W + x] = in ? img[(ch * h + sy) * w + sx] : 0.0f;
                }
    }
    memcpy(img, tmp, (size_t)(c * H * W) * sizeof *img);
    memcpy(s, o, sizeof o);
}

void cvl_transform_apply(float *img, float *tmp, const cvl_transform *tf, int n_tf, int64_t shape[3], int training,
                         uint64_t seed, uint64_t epoch, uint64_t index) {
    for (int k = 0; k < n_tf; k++) {
        uint64_t stream = (uint64_t)k * 16;
        if (cvl_transform_changes_shape(&tf[k])) {
            reshape(img, tmp, &tf[k], shape);
            continue;
        }
        if (!training && cvl_transform_is_random(&tf[k])) continue;
        if (tf[k].p < 1.0f && cvl_data_uniform(seed, epoch, index, stream) >= tf[k].p) continue;
        apply_one(img, tmp, &tf[k], shape[0], shape[1], shape[2], seed, epoch, index, stream);
    }
}
