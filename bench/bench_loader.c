/* cvl-bench-loader: loader throughput (samples/s) on Fashion-MNIST with the
 * cnn recipe's preprocessing (normalize only), the resnet18s recipe's
 * (pad 2 to 32x32, normalize) and a full augmentation list (training
 * batches: every random step runs), for 1 and 2 worker threads; then the
 * same on a folder of PNG files written from the first 4000 training images
 * (under /tmp).
 *   cvl-bench-loader [--root DIR] [--epochs N] [--batch B] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <stb_image_write.h>

#include "data/data_config.h"

/* root/<label>/<i>.png from the first n samples of ds (28x28 gray). */
static int write_folder(const char *root, const cvl_dataset *ds, int64_t n) {
    char p[512];
    mkdir(root, 0755);
    for (int k = 0; k < 10; k++) {
        snprintf(p, sizeof p, "%s/%d", root, k);
        mkdir(p, 0755);
    }
    float img[784];
    cvl_sample s = {.inputs = {img}};
    uint8_t px[784];
    cvl_err e = {0};
    for (int64_t i = 0; i < n; i++) {
        if (ds->vt->get_sample(&s, ds, i, &e) != CVL_OK) return 1;
        for (int k = 0; k < 784; k++) px[k] = (uint8_t)(img[k] * 255.0f + 0.5f);
        snprintf(p, sizeof p, "%s/%d/%05lld.png", root, s.labels[0], (long long)i);
        if (!stbi_write_png(p, 28, 28, 1, px, 28)) return 1;
    }
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Samples per second over `epochs` epochs of ds; checksum keeps the
 * consumer honest. */
static double run(const cvl_dataset *ds, const cvl_transform *tf, int n_tf, int workers, int64_t batch, int epochs,
                  double *checksum) {
    cvl_err e = {0};
    cvl_loader *ld;
    cvl_loader_opts o = {.batch = batch, .shuffle = 1, .drop_last = 1, .training = 1, .workers = workers, .seed = 1,
                         .tf = tf, .n_tf = n_tf};
    if (cvl_loader_init(&ld, ds, &o, &e) != CVL_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 0;
    }
    int64_t n = 0;
    double t0 = now();
    for (int ep = 0; ep < epochs; ep++) {
        cvl_loader_start_epoch(ld, (uint64_t)ep);
        const cvl_batch *b;
        while (cvl_loader_next(&b, ld, &e) == CVL_OK && b != NULL) {
            *checksum += b->inputs[0][0];
            n += b->n;
        }
    }
    double dt = now() - t0;
    cvl_loader_free(ld);
    return (double)n / dt;
}

int main(int argc, char **argv) {
    const char *root = "/usr/share/datasets/fashion-mnist";
    int epochs = 1;
    int64_t batch = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--root") == 0) root = argv[i + 1];
        else if (strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0) batch = atoll(argv[i + 1]);
    }
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"idx\", \"root\": \"%s\"}, \"val_split\": 0.1}", root);
    json_t *j = json_loads(cfg, 0, NULL);
    cvl_data_config c;
    cvl_data d;
    cvl_err e = {0};
    if (cvl_data_config_parse(&c, j, "bench", &e) != CVL_OK || cvl_data_open(&d, &c, &e) != CVL_OK) {
        fprintf(stderr, "cvl-bench-loader: %s\n", e.msg);
        return 1;
    }
    json_decref(j);
    cvl_transform norm = {.kind = CVL_TF_NORMALIZE, .p = 1, .mean = {0.2860f}, .std = {0.3530f}};
    cvl_transform full[] = {
        {.kind = CVL_TF_RANDOM_CROP, .p = 1, .pad = 4},
        {.kind = CVL_TF_HFLIP, .p = 0.5f},
        {.kind = CVL_TF_ROTATE, .p = 0.5f, .degrees = 15},
        {.kind = CVL_TF_SCALE, .p = 0.5f, .scale_lo = 0.9f, .scale_hi = 1.1f},
        {.kind = CVL_TF_TRANSLATE, .p = 0.5f, .max_frac = 0.1f},
        {.kind = CVL_TF_BRIGHTNESS_CONTRAST, .p = 0.5f, .brightness = 0.2f, .contrast = 0.2f},
        {.kind = CVL_TF_CUTOUT, .p = 0.5f, .max_frac = 0.25f},
        {.kind = CVL_TF_NORMALIZE, .p = 1, .mean = {0.2860f}, .std = {0.3530f}},
    };
    cvl_transform r18[] = {
        {.kind = CVL_TF_PAD, .p = 1, .pads = {2, 2, 2, 2}},
        {.kind = CVL_TF_NORMALIZE, .p = 1, .mean = {0.2860f}, .std = {0.3530f}},
    };
    double sum = 0;
    printf("| dataset | transforms | workers | samples/s |\n|---|---|---|---|\n");
    for (int w = 1; w <= 2; w++) {
        printf("| fashion-mnist train (%lld) | normalize (cnn) | %d | %.0f |\n", (long long)d.train->vt->size(d.train), w,
               run(d.train, &norm, 1, w, batch, epochs, &sum));
        printf("| fashion-mnist train (%lld) | pad 2 + normalize (resnet18s) | %d | %.0f |\n",
               (long long)d.train->vt->size(d.train), w, run(d.train, r18, 2, w, batch, epochs, &sum));
        printf("| fashion-mnist train (%lld) | full (8 steps) | %d | %.0f |\n", (long long)d.train->vt->size(d.train), w,
               run(d.train, full, 8, w, batch, epochs, &sum));
    }
    const char *froot = "/tmp/cvl-bench-loader-png";
    if (write_folder(froot, d.full, 4000) != 0) {
        fprintf(stderr, "cvl-bench-loader: cannot write %s\n", froot);
        return 1;
    }
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [1,28,28], \"val_split\": 0}", froot);
    j = json_loads(cfg, 0, NULL);
    cvl_data_config fc;
    cvl_data fd;
    if (cvl_data_config_parse(&fc, j, "bench", &e) != CVL_OK || cvl_data_open(&fd, &fc, &e) != CVL_OK) {
        fprintf(stderr, "cvl-bench-loader: %s\n", e.msg);
        return 1;
    }
    json_decref(j);
    for (int w = 1; w <= 2; w++) {
        printf("| png folder (%lld files) | normalize (cnn) | %d | %.0f |\n", (long long)fd.train->vt->size(fd.train), w,
               run(fd.train, &norm, 1, w, batch, epochs, &sum));
        printf("| png folder (%lld files) | full (8 steps) | %d | %.0f |\n", (long long)fd.train->vt->size(fd.train), w,
               run(fd.train, full, 8, w, batch, epochs, &sum));
    }
    cvl_data_close(&fd);
    cvl_data_config_free(&fc);
    fprintf(stderr, "checksum %g\n", sum);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    return 0;
}
