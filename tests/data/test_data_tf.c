/* Transforms that change the shape (pad, resize, center_crop), the shape
 * rule for input_shape, training vs evaluation steps, and determinism of
 * the loader with them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "../harness.h"
#include "data_util.h"

static void run(float *img, float *tmp, const cvl_transform *tf, int n, int64_t *shape, int training) {
    cvl_transform_apply(img, tmp, tf, n, shape, training, 1, 0, 0);
}

static void test_pad(void) {
    float img[64], tmp[64];
    for (int i = 0; i < 4; i++) img[i] = (float)(i + 1); /* (1,2,2): 1 2 / 3 4 */
    cvl_transform pad = {.kind = CVL_TF_PAD, .p = 1, .pads = {1, 1, 1, 1}};
    int64_t s[3] = {1, 2, 2};
    run(img, tmp, &pad, 1, s, 0);
    static const float want[16] = {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0};
    CHECK(s[0] == 1 && s[1] == 4 && s[2] == 4 && memcmp(img, want, sizeof want) == 0,
          "pad 1: (1,2,2) -> (1,4,4), the image inside a border of zeros");
    for (int i = 0; i < 4; i++) img[i] = (float)(i + 1);
    cvl_transform asym = {.kind = CVL_TF_PAD, .p = 1, .pads = {1, 0, 2, 0}}; /* top, bottom, left, right */
    int64_t s2[3] = {1, 2, 2};
    run(img, tmp, &asym, 1, s2, 0);
    static const float want2[12] = {0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4};
    CHECK(s2[1] == 3 && s2[2] == 4 && memcmp(img, want2, sizeof want2) == 0, "pad [1,0,2,0]: one row on top, two columns left");
}

static void test_resize_crop(void) {
    float img[64], tmp[64];
    for (int i = 0; i < 4; i++) img[i] = (float)i; /* 0 1 / 2 3 */
    cvl_transform rs = {.kind = CVL_TF_RESIZE, .p = 1, .size = {4, 4}};
    int64_t s[3] = {1, 2, 2};
    run(img, tmp, &rs, 1, s, 0);
    /* output pixel (y,x) samples input (0.5y - 0.25, 0.5x - 0.25), clamped at 0:
     * (1,1) -> (0.25,0.25): 0.75*(0.75*0 + 0.25*1) + 0.25*(0.75*2 + 0.25*3) = 0.75
     * (1,2) -> (0.25,0.75): 0.75*0.75 + 0.25*2.75 = 1.25; corners replicate the edges */
    CHECK(s[1] == 4 && s[2] == 4, "resize to [4,4]");
    CHECK_NEAR(img[5], 0.75, 1e-6, "resize 2->4: pixel (1,1) is 0.75 by hand");
    CHECK_NEAR(img[6], 1.25, 1e-6, "resize 2->4: pixel (1,2) is 1.25 by hand");
    CHECK(img[0] == 0 && img[15] == 3, "resize: the corners keep the corner values");
    for (int i = 0; i < 16; i++) img[i] = (float)i; /* 4x4 ramp */
    cvl_transform cc = {.kind = CVL_TF_CENTER_CROP, .p = 1, .size = {2, 2}};
    int64_t s2[3] = {1, 4, 4};
    run(img, tmp, &cc, 1, s2, 0);
    CHECK(s2[1] == 2 && s2[2] == 2 && img[0] == 5 && img[1] == 6 && img[2] == 9 && img[3] == 10,
          "center_crop 4x4 -> 2x2 keeps rows and columns 1..2");
    for (int i = 0; i < 15; i++) img[i] = (float)i; /* (1,3,5) */
    cvl_transform cc2 = {.kind = CVL_TF_CENTER_CROP, .p = 1, .size = {2, 2}};
    int64_t s3[3] = {1, 3, 5};
    run(img, tmp, &cc2, 1, s3, 0);
    CHECK(img[0] == 1 && img[1] == 2 && img[2] == 6 && img[3] == 7, "center_crop of an odd margin rounds the offset down");

    int64_t in[3] = {1, 28, 28}, out[3], m;
    cvl_transform list[] = {{.kind = CVL_TF_PAD, .p = 1, .pads = {2, 2, 2, 2}}, {.kind = CVL_TF_NORMALIZE, .p = 1},
                            {.kind = CVL_TF_RESIZE, .p = 1, .size = {40, 40}}, {.kind = CVL_TF_CENTER_CROP, .p = 1, .size = {36, 30}}};
    cvl_err e = {0};
    CHECK(cvl_transform_shape(out, &m, list, 2, in, &e) == CVL_OK && out[1] == 32 && out[2] == 32, "shape: pad 2 gives 32x32");
    CHECK(cvl_transform_shape(out, &m, list, 4, in, &e) == CVL_OK && out[0] == 1 && out[1] == 36 && out[2] == 30 && m == 1600,
          "shape: pad, resize 40, crop [36,30]; the largest step holds 1600 floats");
    cvl_transform big = {.kind = CVL_TF_CENTER_CROP, .p = 1, .size = {30, 20}};
    CHECK(cvl_transform_shape(out, &m, &big, 1, in, &e) != CVL_OK, "a crop larger than its input fails");
    CHECK_STR_CONTAINS(e.msg, "transforms[0]: center_crop to [30,20] is larger than its input [1,28,28]", "and says so");
    CHECK(cvl_transform_is_random(&(cvl_transform){.kind = CVL_TF_NORMALIZE, .p = 0.5f}) &&
              !cvl_transform_is_random(&(cvl_transform){.kind = CVL_TF_NORMALIZE, .p = 1}) &&
              cvl_transform_is_random(&(cvl_transform){.kind = CVL_TF_HFLIP, .p = 1}) &&
              !cvl_transform_is_random(&list[0]),
          "random: augmentations and p < 1; deterministic: normalize, pad, resize, center_crop");
}

typedef struct membuf {
    uint8_t b[4096];
    size_t n;
} membuf;

static void to_mem(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->n + (size_t)size <= sizeof m->b) memcpy(m->b + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

/* The folder reader's decode at 4x4 and a decode at 8x8 then resize step
 * sample the same way. */
static void test_resize_matches_decode(void) {
    uint8_t px[64];
    for (int i = 0; i < 64; i++) px[i] = (uint8_t)((i * 37) % 251);
    static membuf png;
    stbi_write_png_to_func(to_mem, &png, 8, 8, 1, px, 8);
    size_t len = png.n;
    float a[16], b[64], tmp[64];
    cvl_err e = {0};
    cvl_image_decode_mem(a, png.b, len, 1, 4, 4, "a.png", &e);
    cvl_image_decode_mem(b, png.b, len, 1, 8, 8, "a.png", &e);
    cvl_transform rs = {.kind = CVL_TF_RESIZE, .p = 1, .size = {4, 4}};
    int64_t s[3] = {1, 8, 8};
    run(b, tmp, &rs, 1, s, 0);
    double worst = 0;
    for (int i = 0; i < 16; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    CHECK(worst < 1e-6, "resize step == the folder decode's resize (max diff %g)", worst);
}

static void test_config_shape(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    const char *cfg = "{\"dataset\": {\"format\": \"idx\"}, \"val_split\": 0.99, \"input_shape\": [1,32,32],"
                      "\"transforms\": [{\"name\": \"pad\", \"pad\": 2}, {\"name\": \"normalize\", \"mean\": 0.2860, \"std\": 0.3530}]}";
    cvl_status st = open_cfg(&d, &c, cfg, &e);
    CHECK(st == CVL_OK, "Fashion-MNIST + pad 2 + normalize opens with input_shape [1,32,32] (%s)", e.msg);
    if (st == CVL_OK) {
        CHECK(d.input_shape[1] == 32 && d.decode_shape[1] == 28 && d.eval == d.test && strcmp(d.eval_split, "test") == 0,
              "model input 32x32 from 28x28 images; eval uses the t10k test split");
        cvl_loader *ld;
        cvl_loader_opts o = cvl_data_loader_opts(&c, 0);
        o.batch = 4;
        cvl_loader_init(&ld, d.test, &o, &e);
        const cvl_data_decl *in = cvl_loader_input_decl(ld, 0);
        CHECK(in->c == 1 && in->h == 32 && in->w == 32, "the loader's input is (1,32,32)");
        cvl_loader_start_epoch(ld, 0);
        const cvl_batch *b;
        cvl_loader_next(&b, ld, &e);
        float raw[784];
        int32_t lab[1];
        get_image(raw, lab, d.test, 0);
        float inv = 1.0f / 0.3530f, border = (0 - 0.2860f) * inv, mid = (raw[14 * 28 + 14] - 0.2860f) * inv;
        CHECK(b != NULL && b->input_decl[0].h == 32 && b->inputs[0][0] == border && b->inputs[0][31 * 32 + 31] == border &&
                  b->inputs[0][16 * 32 + 16] == mid && b->inputs[0][1024] == border,
              "the batch: zero border normalized to %g, pixel (14,14) moved to (16,16)", border);
        cvl_loader_free(ld);
        cvl_data_close(&d);
    }
    cvl_data_config_free(&c);
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"input_shape\": [1,28,28], \"transforms\": [{\"name\": \"pad\", \"pad\": 2}]}"),
                       "cnn.json: input_shape [1,28,28] disagrees with the shape after the transforms, [1,32,32] (", "input_shape names both shapes");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"input_shape\": [1,28,28], \"transforms\": [{\"name\": \"pad\", \"pad\": 2}]}"),
                       "gives [1,28,28]", "and the dataset's");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"pad\", \"pad\": 2, \"p\": 0.5}]}"),
                       "cnn.json: transforms[0].p: pad changes the image shape, so it must apply always (p 1)", "a shape change must have p 1");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"pad\", \"pad\": [1,2]}]}"),
                       "cnn.json: transforms[0].pad: expected an integer or [top, bottom, left, right]", "pad list length");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"resize\"}]}"),
                       "cnn.json: transforms[0].size: required ([H, W])", "resize needs a size");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"resize\", \"size\": [0, 4]}]}"),
                       "cnn.json: transforms[0].size: 0 is not in [1,4096]", "resize size range");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"center_crop\", \"size\": [29, 28]}]}"),
                       "cnn.json: transforms[0]: center_crop to [29,28] is larger than its input [1,28,28]", "crop too large, at open");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"center_crop\", \"size\": [20, 20], \"pad\": 1}]}"),
                       "cnn.json: transforms[0].pad: unknown key", "center_crop has no pad");
}

/* root/a/0.png, root/b/1.png: 6x6 RGB. */
static void test_folder_rule(void) {
    char root[300], p[400], cfg[900];
    snprintf(root, sizeof root, "%s/rule", tmpdir);
    mkdir(root, 0755);
    uint8_t px[6 * 6 * 3];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 5);
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%c", root, 'a' + k), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/%c/%d.png", root, 'a' + k, k), stbi_write_png(p, 6, 6, 3, px, 18);
    }
    const char *cases[][3] = {
        {"[3,4,4]", "[{\"name\": \"resize\", \"size\": [6,6]}, {\"name\": \"center_crop\", \"size\": [4,4]}]", "6"},
        {"[3,8,8]", "[{\"name\": \"pad\", \"pad\": 2}, {\"name\": \"hflip\"}]", "4"},
        {"[3,5,5]", "[{\"name\": \"normalize\"}]", "5"},
    };
    for (int k = 0; k < 3; k++) {
        snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"val_split\": 0, \"input_shape\": %s, \"transforms\": %s}",
                 root, cases[k][0], cases[k][1]);
        cvl_data d;
        cvl_data_config c;
        cvl_err e = {0};
        cvl_status st = open_cfg(&d, &c, cfg, &e);
        CHECK(st == CVL_OK && d.decode_shape[1] == atoi(cases[k][2]) && d.decode_shape[2] == atoi(cases[k][2]) &&
                  memcmp(d.input_shape, c.shape, sizeof c.shape) == 0,
              "folder, input_shape %s: decoded at %sx%s (%s)", cases[k][0], cases[k][2], cases[k][2], e.msg);
        if (st == CVL_OK) cvl_data_close(&d);
        cvl_data_config_free(&c);
    }
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [3,4,4], \"transforms\": [{\"name\": \"center_crop\", \"size\": [4,4]}]}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "cnn.json: dataset.decode_shape: required here: transforms[0] (center_crop) changes the shape before any resize",
                       "a crop first leaves the decode size open");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"decode_shape\": [3,6,6]}, \"val_split\": 0, \"input_shape\": [3,4,4], \"transforms\": [{\"name\": \"center_crop\", \"size\": [4,4]}]}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "(opened)", "with decode_shape it opens");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"decode_shape\": [3,6,6]}, \"val_split\": 0, \"transforms\": [{\"name\": \"center_crop\", \"size\": [4,4]}]}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "(opened)", "decode_shape alone: input_shape follows from the transforms");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"decode_shape\": [3,6,6]}, \"input_shape\": [3,6,6], \"transforms\": [{\"name\": \"center_crop\", \"size\": [4,4]}]}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "cnn.json: input_shape [3,6,6] disagrees with the shape after the transforms, [3,4,4]",
                       "decode_shape and input_shape must agree through the transforms");
    /* a manifest whose image is its second input: the shape rule and "auto" find it */
    snprintf(p, sizeof p, "%s/m.csv", root);
    write_text(p, "age,img,k\n3,a/0.png,x\n4,b/1.png,y\n");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"m.csv\", \"columns\": ["
             "{\"name\": \"age\", \"as\": \"numerical\"}, {\"name\": \"img\", \"as\": \"image\"},"
             "{\"name\": \"k\", \"as\": \"target\", \"categories\": [\"x\", \"y\"]}]}, \"val_split\": 0, \"input_shape\": [3,8,6],"
             "\"transforms\": [{\"name\": \"pad\", \"pad\": [1, 1, 0, 0]}, {\"name\": \"normalize\"}]}", root);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    cvl_status st = open_cfg(&d, &c, cfg, &e);
    CHECK(st == CVL_OK && d.decode_shape[1] == 6 && d.input_shape[1] == 8 && c.tf[1].mean[0] > 0.1f,
          "csv with the image second: decoded 6x6, input [3,8,6], normalize auto from the image (%s)", e.msg);
    if (st == CVL_OK) {
        cvl_loader *ld;
        cvl_loader_opts o = cvl_data_loader_opts(&c, 0);
        cvl_loader_init(&ld, d.full, &o, &e);
        cvl_loader_start_epoch(ld, 0);
        const cvl_batch *b;
        cvl_loader_next(&b, ld, &e);
        CHECK(b != NULL && b->n == 2 && b->input_decl[1].h == 8 && b->input_decl[1].w == 6 && b->inputs[0][1] == 4 &&
                  b->labels[0][1] == 1 && fabsf(b->inputs[1][0] + c.tf[1].mean[0] / c.tf[1].std[0]) < 1e-6f,
              "its batch: age, image (3,8,6) with a normalized zero row on top, label");
        cvl_loader_free(ld);
        cvl_data_close(&d);
    }
    cvl_data_config_free(&c);
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\", \"decode_shape\": [1,28,28]}}"),
                       "cnn.json: dataset.decode_shape: only for the folder and csv formats", "idx has no decode_shape");
}

/* Every batch of two epochs: inputs, then labels as floats. */
static float *all_batches(size_t *len, const cvl_dataset *ds, const cvl_transform *tf, int n_tf, int workers, int training) {
    cvl_err e = {0};
    cvl_loader *ld;
    cvl_loader_opts o = {.batch = 16, .shuffle = 1, .training = training, .workers = workers, .seed = 11, .tf = tf, .n_tf = n_tf};
    if (cvl_loader_init(&ld, ds, &o, &e) != CVL_OK) return NULL;
    int64_t m = cvl_data_decl_floats(cvl_loader_input_decl(ld, 0));
    size_t per = (size_t)(16 * m + 16), n = 0;
    float *out = calloc((size_t)cvl_loader_batches(ld) * 2 * per, sizeof *out);
    for (uint64_t ep = 0; ep < 2; ep++) {
        cvl_loader_start_epoch(ld, ep);
        const cvl_batch *b;
        while (cvl_loader_next(&b, ld, &e) == CVL_OK && b != NULL) {
            memcpy(out + n, b->inputs[0], (size_t)(b->n * m) * sizeof(float));
            for (int64_t i = 0; i < b->n; i++) out[n + (size_t)(16 * m) + (size_t)i] = (float)b->labels[0][i];
            n += per;
        }
    }
    cvl_loader_free(ld);
    *len = n;
    return out;
}

static void test_train_eval(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    const char *cfg = "{\"dataset\": {\"format\": \"idx\"}, \"val_split\": 0.995, \"input_shape\": [1,24,24], \"transforms\": ["
                      "{\"name\": \"pad\", \"pad\": [2, 2, 0, 4]}, {\"name\": \"random_crop\", \"pad\": 3},"
                      "{\"name\": \"rotate\", \"p\": 0.5}, {\"name\": \"resize\", \"size\": [30, 30]},"
                      "{\"name\": \"hflip\", \"p\": 0.5}, {\"name\": \"center_crop\", \"size\": [24, 24]},"
                      "{\"name\": \"cutout\", \"p\": 0.5}, {\"name\": \"normalize\", \"mean\": \"auto\"}]}";
    if (open_cfg(&d, &c, cfg, &e) != CVL_OK) {
        CHECK(0, "open: %s", e.msg);
        cvl_data_config_free(&c);
        return;
    }
    size_t n0, n1, n2, ne, ne2;
    float *b0 = all_batches(&n0, d.train, c.tf, c.n_tf, 0, 1);
    float *b1 = all_batches(&n1, d.train, c.tf, c.n_tf, 1, 1);
    float *b2 = all_batches(&n2, d.train, c.tf, c.n_tf, 2, 1);
    CHECK(n0 > 0 && n0 == n1 && memcmp(b0, b1, n0 * sizeof(float)) == 0, "pad/crop/resize list: 1 worker bit-identical to 0");
    CHECK(n0 == n2 && memcmp(b0, b2, n0 * sizeof(float)) == 0, "pad/crop/resize list: 2 workers bit-identical to 0");
    float *ev = all_batches(&ne, d.train, c.tf, c.n_tf, 2, 0);
    float *ev2 = all_batches(&ne2, d.train, c.tf, c.n_tf, 0, 0);
    CHECK(ne == n0 && memcmp(ev, b0, ne * sizeof(float)) != 0, "evaluation batches differ from training ones");
    CHECK(ne == ne2 && memcmp(ev, ev2, ne * sizeof(float)) == 0, "evaluation batches: 2 workers bit-identical to 0");
    /* evaluation = the deterministic steps alone, by hand: pad, resize, center_crop, normalize */
    cvl_transform det[] = {c.tf[0], c.tf[3], c.tf[5], c.tf[7]};
    cvl_loader *ld;
    cvl_loader_opts o = {.batch = 16, .shuffle = 1, .training = 0, .seed = 11, .tf = c.tf, .n_tf = c.n_tf};
    cvl_loader_init(&ld, d.train, &o, &e);
    cvl_loader_start_epoch(ld, 0);
    const cvl_batch *b;
    cvl_loader_next(&b, ld, &e);
    float img[2048], tmp[2048];
    int32_t lab[1];
    get_image(img, lab, d.train, b->index[3]);
    int64_t s[3] = {1, 28, 28};
    cvl_transform_apply(img, tmp, det, 4, s, 1, 99, 5, 5);
    CHECK(s[1] == 24 && memcmp(img, b->inputs[0] + 3 * 576, 576 * sizeof(float)) == 0 && b->labels[0][3] == lab[0],
          "an evaluation sample is pad, resize, center_crop, normalize of the raw image");
    /* and a training one differs from it for some sample (random_crop always moves or not, rotate half the time) */
    cvl_loader_free(ld);
    free(b0), free(b1), free(b2), free(ev), free(ev2);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
}

/* A random step (p 1) runs in training only; normalize with p < 1 too. */
static void test_selection(void) {
    float img[6], tmp[6];
    for (int i = 0; i < 6; i++) img[i] = (float)i;
    cvl_transform tf[] = {{.kind = CVL_TF_HFLIP, .p = 1}, {.kind = CVL_TF_NORMALIZE, .p = 1, .mean = {1}, .std = {2}}};
    int64_t s[3] = {1, 2, 3};
    run(img, tmp, tf, 2, s, 0);
    CHECK(img[0] == -0.5f && img[2] == 0.5f, "eval: normalize only (no flip)");
    for (int i = 0; i < 6; i++) img[i] = (float)i;
    run(img, tmp, tf, 2, s, 1);
    CHECK(img[0] == 0.5f && img[2] == -0.5f, "train: flip, then normalize");
    cvl_transform half = {.kind = CVL_TF_NORMALIZE, .p = 0.999f, .mean = {1}, .std = {1}};
    for (int i = 0; i < 6; i++) img[i] = (float)i;
    run(img, tmp, &half, 1, s, 0);
    CHECK(img[0] == 0, "eval: a normalize with p < 1 is a random step and does not run");
}

int main(void) {
    if (!tmp_setup()) return 1;
    test_pad();
    test_resize_crop();
    test_resize_matches_decode();
    test_selection();
    test_config_shape();
    test_folder_rule();
    test_train_eval();
    tmp_teardown();
    return tap_done();
}
