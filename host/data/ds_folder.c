/* The folder format: root/<class>/<image>, decoded by stb_image on demand. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "data/dataset.h"

/* Bilinear resize of an 8-bit (h,w,c) image into floats (c,H,W) in [0,1]. */
static void resize_planar(float *out, const uint8_t *in, int h, int w, int c, int64_t H, int64_t W) {
    float sy = (float)h / (float)H, sx = (float)w / (float)W;
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            float fy = ((float)y + 0.5f) * sy - 0.5f, fx = ((float)x + 0.5f) * sx - 0.5f;
            fy = fy < 0 ? 0 : fy, fx = fx < 0 ? 0 : fx;
            int y0 = (int)fy, x0 = (int)fx;
            int y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float wy = fy - (float)y0, wx = fx - (float)x0;
            for (int ch = 0; ch < c; ch++) {
                float v = (1 - wy) * ((1 - wx) * in[(y0 * w + x0) * c + ch] + wx * in[(y0 * w + x1) * c + ch]) +
                          wy * ((1 - wx) * in[(y1 * w + x0) * c + ch] + wx * in[(y1 * w + x1) * c + ch]);
                out[(ch * H + y) * W + x] = v * (1.0f / 255.0f);
            }
        }
}

cvl_status cvl_image_decode_mem(float *out, const uint8_t *buf, size_t len, int64_t c, int64_t h, int64_t w,
                                const char *path, cvl_err *e) {
    if (len == 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: empty file", path);
    if (len > (size_t)1 << 30) return cvl_err_set(e, CVL_ERR_INVALID, "%s: larger than 1 GB", path);
    int iw, ih, comp;
    if (!stbi_info_from_memory(buf, (int)len, &iw, &ih, &comp))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: cannot decode image (%s)", path, stbi_failure_reason());
    if (comp != 1 && comp != 3)
        return cvl_err_set(e, CVL_ERR_UNSUPPORTED, "%s: unsupported channel count %d (gray or RGB only)", path, comp);
    if (iw <= 0 || ih <= 0) return cvl_err_set(e, CVL_ERR_INVALID, "%s: image of %dx%d pixels", path, iw, ih);
    if ((int64_t)iw * ih > (int64_t)1 << 26)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: image %dx%d is too large", path, iw, ih);
    uint8_t *px = stbi_load_from_memory(buf, (int)len, &iw, &ih, &comp, (int)c);
    if (px == NULL) return cvl_err_set(e, CVL_ERR_INVALID, "%s: cannot decode image (%s)", path, stbi_failure_reason());
    /* the decoder may disagree with its own header probe on hostile input */
    if (iw <= 0 || ih <= 0 || (int64_t)iw * ih > (int64_t)1 << 26) {
        stbi_image_free(px);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: image of %dx%d pixels", path, iw, ih);
    }
    resize_planar(out, px, ih, iw, (int)c, h, w);
    stbi_image_free(px);
    return CVL_OK;
}

typedef struct folder_ds {
    char **files;
    int32_t *labels;
    int64_t n;
    char **classes;
    int n_classes;
} folder_ds;

static int64_t folder_size(const cvl_dataset *ds) { return ((const folder_ds *)ds->impl)->n; }

static cvl_status folder_get(cvl_sample *s, const cvl_dataset *ds, int64_t i, cvl_err *e) {
    const folder_ds *f = ds->impl;
    uint8_t *buf;
    size_t len;
    cvl_status st = cvl_data_read_file(&buf, &len, f->files[i], e);
    if (st != CVL_OK) return st;
    const cvl_data_decl *d = &ds->inputs[0];
    st = cvl_image_decode_mem(s->inputs[0], buf, len, d->c, d->h, d->w, f->files[i], e);
    free(buf);
    s->labels[0] = f->labels[i];
    return st;
}

static void folder_free(cvl_dataset *ds) {
    folder_ds *f = ds->impl;
    for (int64_t i = 0; i < f->n; i++) free(f->files[i]);
    for (int k = 0; k < f->n_classes; k++) free(f->classes[k]);
    free(f->files);
    free(f->labels);
    free(f->classes);
    free(f);
    free(ds);
}

static const cvl_dataset_vt folder_vt = {folder_size, folder_get, folder_free};

static int is_image(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif"};
    for (int i = 0; dot && i < 5; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Appends root/<cls>/<image> to f; sorted, so the order is the same on every machine. */
static cvl_status scan_class(folder_ds *f, const char *dir, int label, cvl_err *e) {
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    if (n < 0) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot list", dir);
    cvl_status st = CVL_OK;
    for (int i = 0; i < n; i++) {
        if (st == CVL_OK && is_image(ents[i]->d_name)) {
            char **nf = realloc(f->files, (size_t)(f->n + 1) * sizeof *nf);
            int32_t *nl = nf ? realloc(f->labels, (size_t)(f->n + 1) * sizeof *nl) : NULL;
            if (nf) f->files = nf;
            if (nl) f->labels = nl;
            size_t len = strlen(dir) + strlen(ents[i]->d_name) + 2;
            char *p = nl ? malloc(len) : NULL;
            if (p == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", dir);
            else {
                snprintf(p, len, "%s/%s", dir, ents[i]->d_name);
                f->files[f->n] = p;
                f->labels[f->n++] = label;
            }
        }
        free(ents[i]);
    }
    free(ents);
    return st;
}

static int is_dir_entry(const struct dirent *d) { return d->d_name[0] != '.'; }

/* Scans root/<class>/. With `like` NULL the sub-directories become the
 * classes; otherwise each must be one of like's classes (a test tree). */
static cvl_status scan_root(folder_ds *f, const char *root, const folder_ds *like, cvl_err *e) {
    struct dirent **ents;
    int n = scandir(root, &ents, is_dir_entry, by_name);
    if (n < 0) return cvl_err_set(e, CVL_ERR_IO, "%s: cannot list", root);
    int n_cls = like != NULL ? like->n_classes : n;
    f->classes = calloc((size_t)(n_cls > 0 ? n_cls : 1), sizeof *f->classes);
    cvl_status st = f->classes != NULL ? CVL_OK : cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", root);
    for (int k = 0; st == CVL_OK && like != NULL && k < n_cls; k++)
        if ((f->classes[k] = strdup(like->classes[k])) == NULL) st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", root);
    if (like != NULL && f->classes != NULL) f->n_classes = n_cls;
    for (int i = 0; i < n; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, ents[i]->d_name);
        struct stat sb;
        if (st == CVL_OK && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            int label = -1;
            for (int k = 0; like != NULL && k < n_cls; k++)
                if (strcmp(like->classes[k], ents[i]->d_name) == 0) label = k;
            if (like == NULL) {
                label = f->n_classes++;
                if ((f->classes[label] = strdup(ents[i]->d_name)) == NULL)
                    st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", root);
            }
            if (label < 0)
                st = cvl_err_set(e, CVL_ERR_INVALID, "%s: class directory '%s' is not one of the training classes", root,
                                 ents[i]->d_name);
            if (st == CVL_OK) st = scan_class(f, dir, label, e);
        }
        free(ents[i]);
    }
    free(ents);
    if (st == CVL_OK && f->n == 0)
        st = cvl_err_set(e, CVL_ERR_INVALID, "%s: no images (expected root/<class>/<image>.png|jpg|bmp|gif)", root);
    return st;
}

static cvl_status folder_new(cvl_dataset **out, const char *root, int64_t c, int64_t h, int64_t w,
                             const folder_ds *like, cvl_err *e) {
    if (c != 1 && c != 3)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: images cannot be decoded to %lld channels (gray 1 or RGB 3)", root, (long long)c);
    cvl_dataset *ds = calloc(1, sizeof *ds);
    folder_ds *f = calloc(1, sizeof *f);
    if (ds == NULL || f == NULL) {
        free(ds), free(f);
        return cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", root);
    }
    ds->vt = &folder_vt, ds->impl = f;
    cvl_status st = scan_root(f, root, like, e);
    if (st != CVL_OK) {
        folder_free(ds);
        return st;
    }
    ds->n_inputs = ds->n_targets = 1;
    ds->inputs[0] = (cvl_data_decl){.name = "image", .kind = CVL_DATA_IMAGE, .c = c, .h = h, .w = w};
    ds->targets[0] = (cvl_data_decl){.name = "label", .kind = CVL_DATA_CLASS, .classes = f->n_classes,
                                     .categories = f->classes};
    snprintf(ds->path, sizeof ds->path, "%s", root);
    *out = ds;
    return CVL_OK;
}

cvl_status cvl_dataset_folder_open(cvl_dataset **out, const char *root, int64_t c, int64_t h, int64_t w, cvl_err *e) {
    return folder_new(out, root, c, h, w, NULL, e);
}

cvl_status cvl_dataset_folder_open_like(cvl_dataset **out, const char *root, const cvl_dataset *like, cvl_err *e) {
    if (like->vt != &folder_vt) return cvl_err_set(e, CVL_ERR_INVALID, "%s: not a folder dataset", like->path);
    const cvl_data_decl *in = &like->inputs[0];
    return folder_new(out, root, in->c, in->h, in->w, like->impl, e);
}

const char *cvl_dataset_folder_class(const cvl_dataset *ds, int k) {
    const folder_ds *f = ds->vt == &folder_vt ? ds->impl : NULL;
    return f != NULL && k >= 0 && k < f->n_classes ? f->classes[k] : NULL;
}
