/* The data layer against real Fashion-MNIST, CIFAR files written here, and
 * hostile files crafted in a temp dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "../harness.h"
#include "data/data_config.h"

#include "data_util.h"

static void write_gz(const char *path, const void *p, size_t n) {
    gzFile f = gzopen(path, "wb");
    gzwrite(f, p, (unsigned)n);
    gzclose(f);
}

/* An IDX file of `ndim` axes with the given dims and payload. */
static size_t make_idx(uint8_t *out, int ndim, const uint32_t *dims, const uint8_t *data, size_t n) {
    out[0] = out[1] = 0, out[2] = 8, out[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++) out[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    memcpy(out + 4 + 4 * ndim, data, n);
    return 4 + 4 * (size_t)ndim + n;
}

static void test_fashion(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    cvl_status st = open_cfg(&d, &c, "{\"dataset\": {\"format\": \"idx\"}, \"val_split\": 0.1, \"seed\": 3}", &e);
    CHECK(st == CVL_OK, "fashion-mnist opens from the default root (%s)", e.msg);
    if (st != CVL_OK) return;
    int64_t nf = d.full->vt->size(d.full);
    CHECK(nf == 60000 && d.test->vt->size(d.test) == 10000, "60000 train, 10000 test samples");
    CHECK(d.train->vt->size(d.train) == 54000 && d.val->vt->size(d.val) == 6000, "val_split 0.1 holds out 6000");
    double mean[4], sd[4];
    int64_t counts[10];
    CHECK(cvl_data_stats(mean, sd, counts, d.full, &e) == CVL_OK, "stats");
    int all = 1;
    for (int k = 0; k < 10; k++) all &= counts[k] == 6000;
    CHECK(all, "6000 training samples of each class");
    CHECK_NEAR(mean[0], 0.2860, 2e-4, "training mean 0.2860");
    CHECK_NEAR(sd[0], 0.3530, 2e-4, "training std 0.3530");
    float img[784];
    int32_t lab[1];
    get_image(img, lab, d.full, 0);
    CHECK(lab[0] == 9 && strcmp(c.class_names[9], "ankle boot") == 0, "first training label is 9, ankle boot");
    get_image(img, lab, d.test, 0);
    CHECK(lab[0] == 9, "first test label is 9 (t10k files)");
    /* the split is disjoint and covers the training set */
    char *seen = calloc((size_t)nf, 1);
    int dup = 0;
    for (int s = 0; s < 2; s++) {
        cvl_dataset *v = s ? d.val : d.train;
        cvl_loader *ld;
        cvl_loader_init(&ld, v, &(cvl_loader_opts){.batch = 1000}, &e);
        cvl_loader_start_epoch(ld, 0);
        const cvl_batch *b;
        while (cvl_loader_next(&b, ld, &e) == CVL_OK && b != NULL)
            for (int64_t i = 0; i < b->n; i++) dup |= seen[cvl_dataset_root_index(v, b->index[i])]++;
        cvl_loader_free(ld);
    }
    int64_t covered = 0;
    for (int64_t i = 0; i < nf; i++) covered += seen[i];
    CHECK(!dup && covered == nf, "train and val are disjoint and cover 60000");
    free(seen);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
}

/* Every batch of two epochs, concatenated. */
static float *all_batches(size_t *len, const cvl_dataset *ds, const cvl_transform *tf, int n_tf, int workers) {
    cvl_err e = {0};
    cvl_loader *ld;
    cvl_loader_opts o = {.batch = 64, .shuffle = 1, .drop_last = 1, .training = 1, .workers = workers, .seed = 7,
                         .tf = tf, .n_tf = n_tf};
    if (cvl_loader_init(&ld, ds, &o, &e) != CVL_OK) return NULL;
    size_t per = 64 * 784 + 64, cap = (size_t)cvl_loader_batches(ld) * 2 * per, n = 0;
    float *out = malloc(cap * sizeof *out);
    for (uint64_t ep = 0; ep < 2; ep++) {
        cvl_loader_start_epoch(ld, ep);
        const cvl_batch *b;
        while (cvl_loader_next(&b, ld, &e) == CVL_OK && b != NULL) {
            memcpy(out + n, b->inputs[0], 64 * 784 * sizeof(float));
            for (int i = 0; i < 64; i++) out[n + 64 * 784 + i] = (float)b->labels[0][i];
            n += per;
        }
    }
    cvl_loader_free(ld);
    *len = n;
    return out;
}

static void test_determinism(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    const char *cfg = "{\"dataset\": {\"format\": \"idx\"}, \"val_split\": 0.97, \"transforms\": ["
                      "{\"name\": \"random_crop\", \"pad\": 3, \"p\": 0.7}, {\"name\": \"hflip\", \"p\": 0.5},"
                      "{\"name\": \"rotate\", \"degrees\": 20, \"p\": 0.5}, {\"name\": \"scale\", \"p\": 0.5},"
                      "{\"name\": \"translate\", \"p\": 0.3}, {\"name\": \"brightness_contrast\"},"
                      "{\"name\": \"cutout\", \"p\": 0.5}, {\"name\": \"vflip\", \"p\": 0.1},"
                      "{\"name\": \"normalize\", \"mean\": \"auto\"}]}";
    if (open_cfg(&d, &c, cfg, &e) != CVL_OK) {
        CHECK(0, "open: %s", e.msg);
        return;
    }
    CHECK_NEAR(c.tf[8].mean[0], 0.2860, 5e-3, "normalize mean auto is computed from the training split");
    size_t n0, n1, n2;
    float *b0 = all_batches(&n0, d.train, c.tf, c.n_tf, 0);
    float *b1 = all_batches(&n1, d.train, c.tf, c.n_tf, 1);
    float *b2 = all_batches(&n2, d.train, c.tf, c.n_tf, 2);
    CHECK(n0 == (size_t)(1800 / 64) * 2 * (64 * 785), "drop_last: 28 batches of 64 per epoch (got %zu floats)", n0);
    CHECK(n0 == n1 && memcmp(b0, b1, n0 * sizeof(float)) == 0, "1 worker: bit-identical to synchronous");
    CHECK(n0 == n2 && memcmp(b0, b2, n0 * sizeof(float)) == 0, "2 workers: bit-identical to synchronous");
    size_t half = n0 / 2;
    CHECK(memcmp(b0, b0 + half, half * sizeof(float)) != 0, "epoch 1 differs from epoch 0");
    free(b0), free(b1), free(b2);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
}

static void test_transforms(void) {
    float img[2 * 3 * 4], ref[2 * 3 * 4], tmp[24];
    for (int i = 0; i < 24; i++) img[i] = ref[i] = (float)i;
    cvl_transform hf = {.kind = CVL_TF_HFLIP, .p = 1};
    apply1(img, tmp, &hf, 2, 3, 4);
    CHECK(img[0] == 3 && img[3] == 0 && img[12] == 15, "hflip reverses each row of each channel");
    apply1(img, tmp, &hf, 2, 3, 4);
    CHECK(memcmp(img, ref, sizeof img) == 0, "hflip twice is the identity");
    cvl_transform vf = {.kind = CVL_TF_VFLIP, .p = 1};
    apply1(img, tmp, &vf, 2, 3, 4);
    CHECK(img[0] == 8 && img[8] == 0, "vflip reverses the rows");
    memcpy(img, ref, sizeof img);
    cvl_transform rot = {.kind = CVL_TF_ROTATE, .p = 1, .degrees = 0};
    apply1(img, tmp, &rot, 2, 3, 4);
    CHECK(memcmp(img, ref, sizeof img) == 0, "rotation by 0 degrees is the identity");
    cvl_transform nz = {.kind = CVL_TF_NORMALIZE, .p = 1, .mean = {1, 2}, .std = {2, 4}};
    apply1(img, tmp, &nz, 2, 3, 4);
    CHECK(img[5] == 2.0f && img[13] == 2.75f, "normalize per channel: (5-1)/2, (13-2)/4");
    int hits = 0;
    cvl_transform never = {.kind = CVL_TF_HFLIP, .p = 0.25f};
    for (uint64_t i = 0; i < 4000; i++) hits += cvl_data_uniform(9, 0, i, 0) < 0.25f;
    (void)never;
    CHECK(hits > 900 && hits < 1100, "p=0.25 applies to about a quarter of samples (%d of 4000)", hits);
    int64_t perm[1000];
    cvl_data_shuffle(perm, 1000, 5, 2);
    char seen[1000] = {0};
    int ok = 1, moved = 0;
    for (int i = 0; i < 1000; i++) ok &= !seen[perm[i]]++, moved += perm[i] != i;
    CHECK(ok && moved > 900, "shuffle is a permutation that moves most samples");
}

static void test_cifar(void) {
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/cifar10", tmpdir);
    mkdir(dir, 0755);
    static uint8_t rec[3 * 3073];
    for (int f = 0; f < 6; f++) {
        for (int r = 0; r < 3; r++) {
            rec[r * 3073] = (uint8_t)((f + r) % 10);
            for (int k = 0; k < 3072; k++) rec[r * 3073 + 1 + k] = (uint8_t)(k / 1024 * 100 + r + f);
        }
        if (f < 5) snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, f + 1);
        else snprintf(p, sizeof p, "%s/test_batch.bin", dir);
        write_bytes(p, rec, sizeof rec);
    }
    char cfg[600];
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"cifar\", \"root\": \"%s\"}, \"val_split\": 0, \"input_shape\": [3,32,32]}", dir);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    cvl_status st = open_cfg(&d, &c, cfg, &e);
    CHECK(st == CVL_OK, "cifar-10 layout opens (%s)", e.msg);
    if (st != CVL_OK) return;
    CHECK(d.full->vt->size(d.full) == 15 && d.test->vt->size(d.test) == 3, "15 train, 3 test records");
    static float img[3072];
    int32_t lab[1];
    get_image(img, lab, d.full, 7); /* file 2 (f=2), record 1 */
    CHECK(lab[0] == 3, "record 7 label (2+1)");
    CHECK_NEAR(img[0], 3 / 255.0, 1e-7, "R plane first");
    CHECK_NEAR(img[2048], 203 / 255.0, 1e-7, "B plane third");
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"cifar\", \"root\": \"%s\"}, \"input_shape\": [1,28,28]}", dir);
    CHECK_STR_CONTAINS(open_err(cfg), "input_shape [1,28,28] disagrees with", "input_shape is checked");
    /* hostile: not a whole number of records, label out of range */
    snprintf(p, sizeof p, "%s/data_batch_3.bin", dir);
    write_bytes(p, rec, 3073 + 100);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"cifar\", \"root\": \"%s\"}}", dir);
    const char *m = open_err(cfg);
    CHECK_STR_CONTAINS(m, "data_batch_3.bin: size 3173 is not a whole number of 3073-byte records", "cifar partial record");
    CHECK_STR_CONTAINS(m, "at offset 3073", "cifar partial record offset");
    rec[3073] = 10;
    write_bytes(p, rec, sizeof rec);
    m = open_err(cfg);
    CHECK_STR_CONTAINS(m, "data_batch_3.bin: record 1 (offset 3073): label 10 out of range [0,10)", "cifar label range");
    write_bytes(p, rec, 0);
    CHECK_STR_CONTAINS(open_err(cfg), "data_batch_3.bin: empty file", "cifar empty file");
}

static const char *idx_err(const char *name, const uint8_t *img, size_t ni, const uint8_t *lab, size_t nl, int gz) {
    char dir[300], p[400], cfg[600];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte%s", dir, gz ? ".gz" : "");
    gz ? write_gz(p, img, ni) : write_bytes(p, img, ni);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte%s", dir, gz ? ".gz" : "");
    gz ? write_gz(p, lab, nl) : write_bytes(p, lab, nl);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"idx\", \"root\": \"%s\"}}", dir);
    return open_err(cfg);
}

static void test_hostile_idx(void) {
    static uint8_t img[64], lab[32], px[2 * 3 * 3] = {1, 2, 3}, lb[2] = {1, 2};
    size_t ni = make_idx(img, 3, (uint32_t[]){2, 3, 3}, px, 18), nl = make_idx(lab, 1, (uint32_t[]){2}, lb, 2);
    const char *m = idx_err("good", img, ni, lab, nl, 1);
    CHECK_STR_CONTAINS(m, "t10k-images-idx3-ubyte: cannot open", "a valid train pair, then the missing t10k file is named");
    m = idx_err("trunc", img, ni - 5, lab, nl, 0);
    CHECK_STR_CONTAINS(m, "trunc/train-images-idx3-ubyte: dimensions disagree with the file size (header says 18 bytes of data, file has 13)", "truncated idx");
    m = idx_err("hdr", img, 6, lab, nl, 0);
    CHECK_STR_CONTAINS(m, "hdr/train-images-idx3-ubyte: truncated IDX header (6 bytes)", "truncated header");
    img[3] = 2;
    m = idx_err("magic", img, ni, lab, nl, 1);
    CHECK_STR_CONTAINS(m, "magic/train-images-idx3-ubyte.gz: wrong magic 0x00000802 (want 0x00000803", "wrong magic");
    img[3] = 3;
    img[7] = 5; /* 5 images claimed */
    m = idx_err("dims", img, ni, lab, nl, 1);
    CHECK_STR_CONTAINS(m, "header says 45 bytes of data, file has 18", "dims vs size");
    img[7] = 2;
    lab[9] = 10;
    m = idx_err("range", img, ni, lab, nl, 1);
    CHECK_STR_CONTAINS(m, "range/train-labels-idx1-ubyte.gz: record 1 (offset 9): label 10 out of range [0,10)", "label range");
    lab[9] = 2;
    lab[7] = 3;
    m = idx_err("count", img, ni, lab, nl - 1 + 1, 0);
    CHECK_STR_CONTAINS(m, "dimensions disagree", "label count vs size");
    lab[7] = 2;
    /* gzip: truncated, then corrupt */
    char dir[300], p[400], cfg[600];
    snprintf(dir, sizeof dir, "%s/gz", tmpdir);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    write_gz(p, img, ni);
    uint8_t *gzb;
    size_t gzn;
    cvl_err e = {0};
    cvl_data_read_file(&gzb, &gzn, p, &e); /* gunzips: reread the raw bytes instead */
    free(gzb);
    FILE *f = fopen(p, "rb");
    uint8_t raw[256];
    size_t rn = fread(raw, 1, sizeof raw, f);
    fclose(f);
    write_bytes(p, raw, rn - 10);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"idx\", \"root\": \"%s\"}}", dir);
    m = open_err(cfg);
    CHECK_STR_CONTAINS(m, "gz/train-images-idx3-ubyte.gz: truncated gzip stream", "truncated gzip");
    for (size_t i = 12; i < rn - 8; i++) raw[i] ^= 0x5a;
    write_bytes(p, raw, rn);
    m = open_err(cfg);
    CHECK_STR_CONTAINS(m, "gz/train-images-idx3-ubyte.gz: corrupt gzip data near byte", "corrupt gzip");
    write_bytes(p, raw, 0);
    m = open_err(cfg);
    CHECK_STR_CONTAINS(m, "gz/train-images-idx3-ubyte.gz: truncated IDX header (0 bytes)", "zero-size file");
    m = open_err("{\"dataset\": {\"format\": \"idx\", \"root\": \"/nonexistent/fm\"}}");
    CHECK_STR_CONTAINS(m, "cnn.json: dataset.root: /nonexistent/fm: no such directory", "missing root");
}

static void test_config_errors(void) {
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\", \"rot\": \"/x\"}}"),
                       "cnn.json: dataset.rot: unknown key (did you mean 'root'?)", "unknown dataset key");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idz\"}}"),
                       "cnn.json: dataset.format: 'idz' is not one of idx, cifar, folder, csv (did you mean 'idx'?)", "unknown format");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\", \"classes\": \"ten\"}}"),
                       "cnn.json: dataset.classes: expected an integer", "wrong type");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"hflip\", \"pp\": 1}]}"),
                       "cnn.json: transforms[0].pp: unknown key (did you mean 'p'?)", "unknown transform key");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"rotat\"}]}"),
                       "cnn.json: transforms[0].name: unknown transform 'rotat' (did you mean 'rotate'?)", "unknown transform");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"rotate\", \"p\": 2}]}"),
                       "cnn.json: transforms[0].p: 2 is not in [0,1]", "p out of range");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"transforms\": [{\"name\": \"normalize\", \"std\": [0.3, \"x\"]}]}"),
                       "cnn.json: transforms[0].std[1]: expected a number", "wrong type in a list");
}

static void test_grid(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    if (open_cfg(&d, &c, "{\"dataset\": {\"format\": \"idx\"}, \"val_split\": 0}", &e) != CVL_OK) {
        CHECK(0, "open: %s", e.msg);
        return;
    }
    cvl_loader *ld;
    cvl_loader_init(&ld, d.test, &(cvl_loader_opts){.batch = 10}, &e);
    cvl_loader_start_epoch(ld, 0);
    const cvl_batch *b;
    cvl_loader_next(&b, ld, &e);
    char p[400];
    snprintf(p, sizeof p, "%s/grid.png", tmpdir);
    CHECK(cvl_data_write_grid(p, b, c.class_names, c.classes, &e) == CVL_OK, "grid written (%s)", e.msg);
    int w, h, ch;
    uint8_t *px = stbi_load(p, &w, &h, &ch, 3);
    CHECK(px != NULL && w == 4 * 58 && h == 3 * (56 + 14), "grid is 4x3 tiles of 56x56 plus a label strip (%dx%d)", w, h);
    /* tile 0 is an ankle boot (label 9): its label strip has yellow font pixels */
    int yellow = 0;
    for (int y = 57; y < 70 && px; y++)
        for (int x = 0; x < 58; x++) yellow += px[(y * w + x) * 3] == 255 && px[(y * w + x) * 3 + 1] == 220;
    CHECK(yellow == 12 * 4, "tile 0's label '9' drawn in 12 font pixels of 2x2 (%d)", yellow);
    stbi_image_free(px);
    snprintf(p, sizeof p, "%s/grid.png.txt", tmpdir);
    uint8_t *txt;
    size_t n;
    CHECK(cvl_data_read_file(&txt, &n, p, &e) == CVL_OK, "sidecar written");
    txt = realloc(txt, n + 1);
    txt[n] = 0;
    CHECK_STR_CONTAINS((char *)txt, "tile 0 (row 0, col 0): label 9 ankle boot\ntile 1 (row 0, col 1): label 2 pullover",
                       "sidecar names each tile's label");
    free(txt);
    cvl_loader_free(ld);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
}

/* root/cat/a.png (gray 8x8 ramp), root/cat/b.bmp (RGB), root/dog/c.jpg (RGB flat). */
static void test_folder(void) {
    char root[300], p[400], cfg[700];
    snprintf(root, sizeof root, "%s/folder", tmpdir);
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/cat", root), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/dog", root), mkdir(p, 0755);
    uint8_t gray[64], rgb[4 * 4 * 3], flat[6 * 6 * 3];
    for (int i = 0; i < 64; i++) gray[i] = (uint8_t)(i % 8 * 30);
    for (int i = 0; i < 48; i++) rgb[i] = (uint8_t)(i % 3 == 0 ? 200 : i % 3 == 1 ? 100 : 50);
    memset(flat, 128, sizeof flat);
    snprintf(p, sizeof p, "%s/cat/a.png", root);
    stbi_write_png(p, 8, 8, 1, gray, 8);
    snprintf(p, sizeof p, "%s/cat/b.bmp", root);
    stbi_write_bmp(p, 4, 4, 3, rgb);
    snprintf(p, sizeof p, "%s/dog/c.jpg", root);
    stbi_write_jpg(p, 6, 6, 3, flat, 95);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [3,4,4], \"val_split\": 0}", root);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    cvl_status st = open_cfg(&d, &c, cfg, &e);
    CHECK(st == CVL_OK, "folder opens (%s)", e.msg);
    if (st != CVL_OK) return;
    CHECK(d.full->vt->size(d.full) == 3 && c.classes == 2 && strcmp(c.class_names[1], "dog") == 0,
          "3 images, classes cat and dog from the sub-directories");
    float img[48];
    int32_t lab[1];
    get_image(img, lab, d.full, 0);
    /* 8 -> 4 bilinear at half-pixel centres averages columns 2x..2x+1: (0+30)/2, (60+90)/2 */
    CHECK(lab[0] == 0 && fabsf(img[0] - 15 / 255.0f) < 1e-6f && fabsf(img[1] - 75 / 255.0f) < 1e-6f &&
              img[16] == img[0] && img[32] == img[0], "gray PNG resized 8->4 and replicated to 3 channels");
    get_image(img, lab, d.full, 1);
    CHECK(lab[0] == 0 && fabsf(img[0] * 255 - 200) < 1e-4f && fabsf(img[16] * 255 - 100) < 1e-4f && fabsf(img[47] * 255 - 50) < 1e-4f, "BMP planes R,G,B exact");
    get_image(img, lab, d.full, 2);
    CHECK(lab[0] == 1 && fabsf(img[5] - 128 / 255.0f) < 3 / 255.0f, "JPEG decodes near its flat value, label dog");
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    /* hostile images, each alone in class 'x' */
    const char *cases[][2] = {{"zero.png", "zero.png: empty file"},
                              {"trunc.png", "trunc.png: cannot decode image ("},
                              {"junk.jpg", "junk.jpg: cannot decode image ("},
                              {"rgba.png", "rgba.png: unsupported channel count 4 (gray or RGB only)"}};
    for (int k = 0; k < 4; k++) {
        char r2[300];
        snprintf(r2, sizeof r2, "%s/bad%d", tmpdir, k), mkdir(r2, 0755);
        snprintf(p, sizeof p, "%s/x", r2), mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/x/%s", r2, cases[k][0]);
        if (k == 0) write_bytes(p, "", 0);
        if (k == 1) {
            stbi_write_png(p, 8, 8, 1, gray, 8);
            uint8_t *b;
            size_t n;
            cvl_data_read_file(&b, &n, p, &e);
            write_bytes(p, b, n / 2);
            free(b);
        }
        if (k == 2) {
            static const char junk[] = "\xff\xd8\xff\xe0 this is not a jpeg at all";
            write_bytes(p, junk, sizeof junk - 1);
        }
        if (k == 3) stbi_write_png(p, 2, 2, 4, flat, 8);
        snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [3,4,4], \"transforms\": [{\"name\": \"normalize\"}]}", r2);
        CHECK_STR_CONTAINS(open_err(cfg), cases[k][1], "hostile image %s", cases[k][0]);
    }
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "cnn.json: input_shape: required for the folder format", "folder needs a shape");
}

static const char *csv_err(const char *name, const char *text) {
    char dir[300], p[400], cfg[1200];
    snprintf(dir, sizeof dir, "%s/csv", tmpdir);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_bytes(p, text, strlen(text));
    snprintf(cfg, sizeof cfg,
             "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"%s\", \"columns\": ["
             "{\"name\": \"img\", \"as\": \"image\"}, {\"name\": \"color\", \"as\": \"categorical\", \"categories\": [\"red\", \"blue\"]},"
             "{\"name\": \"age\", \"as\": \"numerical\"}, {\"name\": \"ok\", \"as\": \"boolean\"},"
             "{\"name\": \"kind\", \"as\": \"target\", \"categories\": [\"cat\", \"dog\", \"owl\"]}]},"
             "\"input_shape\": [1,2,2], \"val_split\": 0, \"transforms\": [{\"name\": \"normalize\"}]}", dir, name);
    return open_err(cfg);
}

/* A manifest with an image, a categorical, a numerical and a boolean input
 * and a class target; then each way a manifest can be broken. */
static void test_csv(void) {
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/csv", tmpdir);
    mkdir(dir, 0755);
    uint8_t px[4] = {0, 51, 102, 255};
    snprintf(p, sizeof p, "%s/a.png", dir);
    stbi_write_png(p, 2, 2, 1, px, 2);
    const char *good = "id,img,color,age,ok,kind\r\n1,a.png,blue,4.5,yes,owl\n2,\"a.png\",red,-1e2,0,\"cat\"\n";
    CHECK_STR_CONTAINS(csv_err("good.csv", good), "(opened)", "the manifest opens");
    char cfg[1200];
    snprintf(cfg, sizeof cfg,
             "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"good.csv\", \"columns\": ["
             "{\"name\": \"img\", \"as\": \"image\"}, {\"name\": \"color\", \"as\": \"categorical\", \"categories\": [\"red\", \"blue\"]},"
             "{\"name\": \"age\", \"as\": \"numerical\"}, {\"name\": \"ok\", \"as\": \"boolean\"},"
             "{\"name\": \"kind\", \"as\": \"target\", \"categories\": [\"cat\", \"dog\", \"owl\"]}]},"
             "\"input_shape\": [1,2,2], \"val_split\": 0}", dir);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    if (open_cfg(&d, &c, cfg, &e) != CVL_OK) {
        CHECK(0, "csv: %s", e.msg);
        return;
    }
    CHECK(d.full->n_inputs == 4 && d.full->n_targets == 1 && d.full->inputs[1].f == 2 && c.classes == 3 &&
              strcmp(c.class_names[2], "owl") == 0, "4 inputs (image, one-hot 2, 1, 1), one 3-class target");
    cvl_loader *ld;
    cvl_loader_init(&ld, d.full, &(cvl_loader_opts){.batch = 2, .workers = 1}, &e);
    cvl_loader_start_epoch(ld, 0);
    const cvl_batch *b;
    cvl_loader_next(&b, ld, &e);
    CHECK(b != NULL && b->n == 2, "one batch of 2");
    if (b != NULL) {
        CHECK(fabsf(b->inputs[0][1] - 0.2f) < 1e-6f && b->inputs[0][4 + 3] == 1.0f, "image pixels of both rows");
        CHECK(b->inputs[1][0] == 0 && b->inputs[1][1] == 1 && b->inputs[1][2] == 1 && b->inputs[1][3] == 0, "color one-hot: blue, red");
        CHECK(b->inputs[2][0] == 4.5f && b->inputs[2][1] == -100.0f, "age numbers");
        CHECK(b->inputs[3][0] == 1 && b->inputs[3][1] == 0, "ok booleans");
        CHECK(b->labels[0][0] == 2 && b->labels[0][1] == 0, "targets owl, cat");
    }
    cvl_loader_free(ld);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    CHECK_STR_CONTAINS(csv_err("miss.csv", "id,img,color,age,kind\n1,a.png,red,1,cat\n"), "miss.csv:1: missing column 'ok'", "missing column");
    CHECK_STR_CONTAINS(csv_err("type.csv", "img,color,age,ok,kind\na.png,red,1,true,cat\na.png,red,old,true,cat\n"),
                       "type.csv:3: column 'age': 'old' is not a number", "wrong numerical type");
    CHECK_STR_CONTAINS(csv_err("bool.csv", "img,color,age,ok,kind\na.png,red,1,maybe,cat\n"),
                       "bool.csv:2: column 'ok': 'maybe' is not a boolean", "wrong boolean");
    CHECK_STR_CONTAINS(csv_err("cat.csv", "img,color,age,ok,kind\na.png,green,1,1,cat\n"),
                       "cat.csv:2: column 'color': unknown category 'green'", "unknown category");
    CHECK_STR_CONTAINS(csv_err("tgt.csv", "img,color,age,ok,kind\na.png,red,1,1,cow\n"),
                       "tgt.csv:2: column 'kind': unknown category 'cow'", "unknown target class");
    CHECK_STR_CONTAINS(csv_err("ragged.csv", "img,color,age,ok,kind\na.png,red,1,1,cat\na.png,red,1,cat\n"),
                       "ragged.csv:3: 4 fields, the header has 5", "ragged row");
    CHECK_STR_CONTAINS(csv_err("quote.csv", "img,color,age,ok,kind\n\"a.png,red,1,1,cat\n"),
                       "quote.csv:2: unterminated quoted field", "unterminated quote");
    CHECK_STR_CONTAINS(csv_err("noimg.csv", "img,color,age,ok,kind\nnope.png,red,1,1,cat\n"),
                       "noimg.csv:2: ", "missing image names the manifest line");
    CHECK_STR_CONTAINS(csv_err("noimg.csv", "img,color,age,ok,kind\nnope.png,red,1,1,cat\n"),
                       "nope.png: cannot open", "and the image");
    CHECK_STR_CONTAINS(csv_err("empty.csv", ""), "empty.csv: empty file", "empty manifest");
    CHECK_STR_CONTAINS(csv_err("head.csv", "img,color,age,ok,kind\n"), "head.csv: no rows after the header", "header only");
}

int main(void) {
    if (!tmp_setup()) return 1;
    test_transforms();
    test_config_errors();
    test_hostile_idx();
    test_cifar();
    test_folder();
    test_csv();
    test_grid();
    test_fashion();
    test_determinism();
    tmp_teardown();
    return tap_done();
}
