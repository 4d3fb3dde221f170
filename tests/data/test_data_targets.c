/* Target kinds: csv columns (multilabel, numerical and boolean targets),
 * targets derived from the label, and the test splits (test_root,
 * test_file, test_split). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "../harness.h"
#include "data_util.h"

/* The first batch (in order, no random steps) of ds. */
static const cvl_batch *first_batch(cvl_loader **ld, const cvl_dataset *ds, int64_t n, int workers) {
    cvl_err e = {0};
    cvl_loader_opts o = {.batch = n, .workers = workers};
    if (cvl_loader_init(ld, ds, &o, &e) != CVL_OK) {
        printf("# loader: %s\n", e.msg);
        return NULL;
    }
    cvl_loader_start_epoch(*ld, 0);
    const cvl_batch *b = NULL;
    if (cvl_loader_next(&b, *ld, &e) != CVL_OK) printf("# next: %s\n", e.msg);
    return b;
}

static int same(const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

#define COLS                                                                                                           \
    "{\"name\": \"age\", \"as\": \"numerical\"}, {\"name\": \"color\", \"as\": \"categorical\", \"categories\": [\"red\", \"blue\"]}," \
    "{\"name\": \"tags\", \"as\": \"multilabel\", \"categories\": [\"a\", \"b\", \"c\"]},"                              \
    "{\"name\": \"kind\", \"as\": \"target\", \"categories\": [\"cat\", \"dog\", \"owl\"]},"                            \
    "{\"name\": \"score\", \"as\": \"numerical_target\"}, {\"name\": \"ok\", \"as\": \"boolean_target\"}"

static const char *csv_err(const char *name, const char *text) {
    char dir[300], p[400], cfg[1500];
    snprintf(dir, sizeof dir, "%s/csv", tmpdir);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_text(p, text);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"%s\", \"columns\": [" COLS "]}, \"val_split\": 0}",
             dir, name);
    return open_err(cfg);
}

static const char *col_err(const char *cols) {
    char cfg[1500];
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"m.csv\", \"columns\": [%s]}}", tmpdir, cols);
    return open_err(cfg);
}

static void test_csv_targets(void) {
    char dir[300], p[400], cfg[1500];
    snprintf(dir, sizeof dir, "%s/csv", tmpdir);
    mkdir(dir, 0755);
    const char *good = "id,age,tags,kind,score,ok,color\n1,4.5,a|c,owl,2.5,yes,red\n2,1,,cat,-1,no,blue\n3,2,\" b ; a \",dog,0,true,red\n";
    const char *test = "color,ok,score,kind,tags,age\nblue,0,7,dog,c,3\n";
    snprintf(p, sizeof p, "%s/test.csv", dir);
    write_text(p, test);
    CHECK_STR_CONTAINS(csv_err("good.csv", good), "(opened)", "a manifest with every target kind opens");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"csv\", \"root\": \"%s\", \"file\": \"good.csv\", \"test_file\": \"test.csv\", \"columns\": [" COLS "]}, \"val_split\": 0}", dir);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    if (open_cfg(&d, &c, cfg, &e) != CVL_OK) {
        CHECK(0, "csv: %s", e.msg);
        cvl_data_config_free(&c);
        return;
    }
    const cvl_dataset *f = d.full;
    CHECK(f->n_inputs == 2 && f->inputs[0].kind == CVL_DATA_NUMERICAL && f->inputs[1].kind == CVL_DATA_CATEGORICAL &&
              f->inputs[1].f == 2 && strcmp(f->inputs[1].categories[1], "blue") == 0,
          "inputs: age numerical (1), color categorical (2)");
    CHECK(f->n_targets == 4 && f->targets[0].kind == CVL_DATA_MULTILABEL && f->targets[0].f == 3 &&
              f->targets[1].kind == CVL_DATA_CLASS && f->targets[1].classes == 3 && f->targets[2].kind == CVL_DATA_NUMERICAL &&
              f->targets[2].f == 1 && f->targets[3].kind == CVL_DATA_BOOLEAN && strcmp(f->targets[0].name, "tags") == 0,
          "targets in column order: tags multilabel (3), kind class (3), score numerical (1), ok boolean (1)");
    CHECK(c.classes == 3 && strcmp(c.class_names[2], "owl") == 0, "class names from the first class target");
    CHECK(d.test != NULL && d.test->vt->size(d.test) == 1 && d.eval == d.test && strcmp(d.eval_split, "test") == 0,
          "test_file: a one-row test split, and eval uses it");
    cvl_loader *ld;
    const cvl_batch *b = first_batch(&ld, d.full, 3, 1);
    if (b != NULL) {
        static const float tags[9] = {1, 0, 1, 0, 0, 0, 1, 1, 0};
        CHECK(b->labels[0] == NULL && b->values[1] == NULL && b->labels[1] != NULL, "labels for class targets, values for the rest");
        CHECK(same(b->values[0], tags, 9), "multi-hot tags: a|c, (empty), ' b ; a '");
        CHECK(b->labels[1][0] == 2 && b->labels[1][1] == 0 && b->labels[1][2] == 1, "kind labels owl, cat, dog");
        CHECK(b->values[2][0] == 2.5f && b->values[2][1] == -1 && b->values[2][2] == 0, "score 2.5, -1, 0");
        CHECK(b->values[3][0] == 1 && b->values[3][1] == 0 && b->values[3][2] == 1, "ok yes, no, true");
        CHECK(b->inputs[0][0] == 4.5f && b->inputs[1][0] == 1 && b->inputs[1][3] == 1, "inputs age 4.5, color one-hot");
        CHECK(b->target_decl[0].kind == CVL_DATA_MULTILABEL && b->n_targets == 4, "the batch describes its targets");
    }
    cvl_loader_free(ld);
    b = first_batch(&ld, d.test, 1, 0);
    CHECK(b != NULL && b->values[0][2] == 1 && b->values[0][0] == 0 && b->labels[1][0] == 1 && b->values[2][0] == 7,
          "the test manifest's columns in another order read the same way");
    cvl_loader_free(ld);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    const char *head = "age,tags,kind,score,ok,color\n";
    char t[400];
    snprintf(t, sizeof t, "%s1,a,cat,1,1,red\n1,a|wet,cat,1,1,red\n", head);
    CHECK_STR_CONTAINS(csv_err("ml.csv", t), "ml.csv:3: column 'tags': unknown category 'wet'", "unknown multilabel category, file:line");
    snprintf(t, sizeof t, "%s1,a||b,cat,1,1,red\n", head);
    CHECK_STR_CONTAINS(csv_err("ml2.csv", t), "ml2.csv:2: column 'tags': empty label in a '|' or ';' list", "empty multilabel entry");
    snprintf(t, sizeof t, "%s1,a,cat,1,1,red\n1,a,cat,high,1,red\n", head);
    CHECK_STR_CONTAINS(csv_err("num.csv", t), "num.csv:3: column 'score': 'high' is not a number", "numerical target not a number");
    snprintf(t, sizeof t, "%s1,a,cat,1e39,1,red\n", head);
    CHECK_STR_CONTAINS(csv_err("big.csv", t), "big.csv:2: column 'score': '1e39' is not a number", "a number past float range");
    snprintf(t, sizeof t, "%s1,a,cat,1,perhaps,red\n", head);
    CHECK_STR_CONTAINS(csv_err("bool.csv", t), "bool.csv:2: column 'ok': 'perhaps' is not a boolean", "boolean target");
    snprintf(t, sizeof t, "%s1,a,cat,1,1\n", head);
    CHECK_STR_CONTAINS(csv_err("rag.csv", t), "rag.csv:2: 5 fields, the header has 6", "ragged row");
    snprintf(p, sizeof p, "%s/m.csv", tmpdir);
    write_text(p, "x\n1\n");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"multilabels\"}"),
                       "cnn.json: dataset.columns[0].as: 'multilabels' is not one of image, numerical, boolean, categorical, target, multilabel, numerical_target, boolean_target (did you mean 'multilabel'?)",
                       "unknown column kind lists the kinds");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"multilabel\"}"),
                       "cnn.json: dataset.columns[0].categories: required for categorical, target and multilabel columns", "multilabel needs categories");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"multilabel\", \"categories\": [\"a|b\"]}"),
                       "cnn.json: dataset.columns[0].categories[0]: 'a|b' holds a '|' or ';'", "a multilabel category cannot hold a separator");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"target\", \"categories\": [\"a\", \"a\"]}"),
                       "cnn.json: dataset.columns[0].categories[1]: 'a' is listed twice", "duplicate category");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"numerical_target\"}, {\"name\": \"x\", \"as\": \"numerical\"}"),
                       "cnn.json: dataset.columns[1].name: column 'x' is mapped twice", "a column mapped twice");
    CHECK_STR_CONTAINS(col_err("{\"name\": \"x\", \"as\": \"numerical_target\"}"), "(opened)", "a manifest of one float target opens");
}

#define FASHION_TARGETS                                                                                                 \
    "[{\"name\": \"coarse\", \"as\": \"target\", \"categories\": [\"top\", \"bottom\", \"shoes\", \"bag\"],"           \
    " \"from_label\": [\"top\", \"bottom\", \"top\", 0, \"top\", \"shoes\", \"top\", \"shoes\", 3, \"shoes\"]},"      \
    " {\"name\": \"price\", \"as\": \"numerical_target\", \"from_label\": [9.5, 20, 25, 30, 60, 15, 20, 45, 35, 50]}," \
    " {\"name\": \"shoe\", \"as\": \"boolean_target\", \"from_label\": [0, 0, 0, 0, 0, true, false, 1, 0, 1]},"        \
    " {\"name\": \"season\", \"as\": \"multilabel\", \"categories\": [\"summer\", \"winter\"],"                       \
    " \"from_label\": [[\"summer\"], [], [\"winter\"], [0], [1], [0], [0, \"winter\"], [0, 1], [], [1]]},"             \
    " {\"name\": \"size\", \"as\": \"numerical_target\", \"from_label\": [[0,1],[1,2],[2,3],[3,4],[4,5],[5,6],[6,7],[7,8],[8,9],[9,10]]}]"

static const char *derive_err(const char *targets) {
    char cfg[2000];
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"idx\", \"targets\": %s}}", targets);
    return open_err(cfg);
}

static void test_derived(void) {
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    if (open_cfg(&d, &c, "{\"dataset\": {\"format\": \"idx\", \"targets\": " FASHION_TARGETS "}, \"val_split\": 0.99}", &e) != CVL_OK) {
        CHECK(0, "derived targets: %s", e.msg);
        cvl_data_config_free(&c);
        return;
    }
    const cvl_dataset *f = d.full;
    CHECK(f->n_targets == 6 && strcmp(f->targets[0].name, "label") == 0 && strcmp(f->inputs[0].name, "image") == 0 &&
              strcmp(f->targets[1].name, "coarse") == 0 && f->targets[1].classes == 4 &&
              strcmp(f->targets[1].categories[2], "shoes") == 0 && f->targets[5].f == 2 && f->targets[4].f == 2 &&
              strcmp(f->targets[0].categories[9], "ankle boot") == 0,
          "image + label, then coarse (4 classes), price, shoe, season (2), size (2)");
    static const int coarse[10] = {0, 1, 0, 0, 0, 2, 0, 2, 3, 2};
    static const float price[10] = {9.5f, 20, 25, 30, 60, 15, 20, 45, 35, 50};
    static const float winter[10] = {0, 0, 1, 0, 1, 0, 1, 1, 0, 1}, summer[10] = {1, 0, 0, 1, 0, 1, 1, 1, 0, 0};
    const cvl_dataset *sets[2] = {d.test, d.train};
    for (int s = 0; s < 2; s++) {
        cvl_loader *ld;
        const cvl_batch *b = first_batch(&ld, sets[s], 200, 2);
        int ok = b != NULL && b->labels[0] != NULL && b->labels[1] != NULL && b->values[0] == NULL;
        int seen[10] = {0};
        for (int64_t i = 0; ok && i < b->n; i++) {
            int l = b->labels[0][i];
            seen[l] = 1;
            ok &= b->labels[1][i] == coarse[l] && b->values[2][i] == price[l] && b->values[3][i] == (l == 5 || l == 7 || l == 9);
            ok &= b->values[4][2 * i] == summer[l] && b->values[4][2 * i + 1] == winter[l];
            ok &= b->values[5][2 * i] == (float)l && b->values[5][2 * i + 1] == (float)l + 1;
        }
        int all = 1;
        for (int k = 0; k < 10; k++) all &= seen[k];
        CHECK(ok && all, "%s: every derived target follows the label in 200 samples of all 10 classes", s ? "train" : "test");
        cvl_loader_free(ld);
    }
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"coarse\", \"as\": \"target\", \"categories\": [\"a\", \"b\", \"c\"], \"from_label\": [0, 1, 2]}]"),
                       "cnn.json: dataset.targets[0].from_label: 3 entries for 10 classes", "wrong map length");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"coarse\", \"as\": \"target\", \"categories\": [\"a\", \"b\", \"c\"], \"from_label\": [0, 1, 5]}]"),
                       "cnn.json: dataset.targets[0].from_label[2]: 5 is not in [0,3)", "class index out of range");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"coarse\", \"as\": \"target\", \"categories\": [\"a\", \"b\"], \"from_label\": [\"a\", \"shoe\"]}]"),
                       "cnn.json: dataset.targets[0].from_label[1]: unknown category 'shoe'", "unknown category name");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"m\", \"as\": \"multilabel\", \"categories\": [\"a\"], \"from_label\": [[\"a\", 2]]}]"),
                       "cnn.json: dataset.targets[0].from_label[0][1]: 2 is not in [0,1)", "multilabel index out of range");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"v\", \"as\": \"numerical_target\", \"from_label\": [[1, 2], [3]]}]"),
                       "cnn.json: dataset.targets[0].from_label[1]: expected a list of as many numbers as entry 0", "ragged numerical map");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"v\", \"as\": \"boolean_target\", \"from_label\": [2]}]"),
                       "cnn.json: dataset.targets[0].from_label[0]: expected true, false, 0 or 1", "boolean map entry");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"label\", \"as\": \"numerical_target\", \"from_label\": [1]}]"),
                       "cnn.json: dataset.targets[0].name: 'label' is already a target", "a derived target cannot be called label");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"p\", \"as\": \"numerical_target\", \"from_label\": [1], \"categories\": [\"a\"]}]"),
                       "cnn.json: dataset.targets[0].categories: only for target and multilabel", "categories on a number");
    CHECK_STR_CONTAINS(derive_err("[{\"name\": \"p\", \"as\": \"numerical_target\", \"from_labels\": [1]}]"),
                       "cnn.json: dataset.targets[0].from_labels: unknown key (did you mean 'from_label'?)", "unknown key");
}

/* root/<cls>/<i>.png, n gray 4x4 images per class. */
static void make_tree(const char *root, const char *const *classes, int n_classes, int n) {
    char p[400];
    mkdir(root, 0755);
    uint8_t px[16];
    for (int k = 0; k < n_classes; k++) {
        snprintf(p, sizeof p, "%s/%s", root, classes[k]), mkdir(p, 0755);
        for (int i = 0; i < n; i++) {
            memset(px, (k * 60 + i) & 0xff, sizeof px);
            snprintf(p, sizeof p, "%s/%s/%02d.png", root, classes[k], i);
            stbi_write_png(p, 4, 4, 1, px, 4);
        }
    }
}

static void test_splits(void) {
    char root[300], troot[300], broot[300], cfg[1200];
    snprintf(root, sizeof root, "%s/train", tmpdir);
    snprintf(troot, sizeof troot, "%s/test", tmpdir);
    snprintf(broot, sizeof broot, "%s/badtest", tmpdir);
    make_tree(root, (const char *const[]){"a", "b", "c"}, 3, 8);
    make_tree(troot, (const char *const[]){"a", "c"}, 2, 2);
    make_tree(broot, (const char *const[]){"a", "cow"}, 2, 1);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"test_root\": \"%s\", \"targets\": ["
             "{\"name\": \"odd\", \"as\": \"boolean_target\", \"from_label\": [0, 1, 0]}]}, \"input_shape\": [1,4,4], \"val_split\": 0.25}",
             root, troot);
    cvl_data d;
    cvl_data_config c;
    cvl_err e = {0};
    cvl_status st = open_cfg(&d, &c, cfg, &e);
    CHECK(st == CVL_OK, "folder with a test_root missing class b opens (%s)", e.msg);
    if (st == CVL_OK) {
        CHECK(d.test->vt->size(d.test) == 4 && d.eval == d.test && d.val->vt->size(d.val) == 6, "4 test images, eval uses them; 6 held out for val");
        cvl_loader *ld;
        const cvl_batch *b = first_batch(&ld, d.test, 4, 0);
        CHECK(b != NULL && b->labels[0][0] == 0 && b->labels[0][2] == 2 && b->values[1][2] == 0 && b->values[1][0] == 0,
              "test labels use the training classes (a 0, c 2), with the derived target");
        cvl_loader_free(ld);
        cvl_data_close(&d);
    }
    cvl_data_config_free(&c);
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"test_root\": \"%s\"}, \"input_shape\": [1,4,4]}", root, broot);
    char want[400];
    snprintf(want, sizeof want, "%s: class directory 'cow' is not one of the training classes", broot);
    CHECK_STR_CONTAINS(open_err(cfg), want, "an unknown class in test_root");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\", \"test_root\": \"/nonexistent\"}, \"input_shape\": [1,4,4]}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "cnn.json: dataset.test_root: /nonexistent: no such directory", "a missing test_root");
    CHECK_STR_CONTAINS(open_err("{\"dataset\": {\"format\": \"idx\"}, \"test_split\": 0.1}"),
                       "cnn.json: test_split: the dataset has its own test split (the t10k files)", "test_split on idx");
    snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [1,4,4], \"val_split\": 0.5, \"test_split\": 0.5}", root);
    CHECK_STR_CONTAINS(open_err(cfg), "cnn.json: test_split: 0.5 + val_split 0.5 leaves no training data", "splits that leave nothing");

    /* test_split: disjoint from val and train, val unchanged by it */
    int64_t val0[24];
    int nv0 = 0;
    for (int with = 0; with < 2; with++) {
        snprintf(cfg, sizeof cfg, "{\"dataset\": {\"format\": \"folder\", \"root\": \"%s\"}, \"input_shape\": [1,4,4], \"val_split\": 0.2, \"test_split\": %s, \"seed\": 4}",
                 root, with ? "0.25" : "0");
        if (open_cfg(&d, &c, cfg, &e) != CVL_OK) {
            CHECK(0, "test_split: %s", e.msg);
            cvl_data_config_free(&c);
            return;
        }
        if (!with) {
            CHECK(d.test == NULL && d.eval == d.val && strcmp(d.eval_split, "val") == 0, "no test split: eval uses val");
            nv0 = (int)d.val->vt->size(d.val);
            for (int i = 0; i < nv0; i++) val0[i] = cvl_dataset_root_index(d.val, i);
        } else {
            int64_t nt = d.test->vt->size(d.test), nv = d.val->vt->size(d.val), ntr = d.train->vt->size(d.train);
            CHECK(nv == 4 && nt == 6 && ntr == 14 && d.eval == d.test, "24 images: 4 val, 6 test, 14 train; eval uses test");
            int seen[24] = {0}, dup = 0, same_val = nv == nv0;
            const cvl_dataset *s3[3] = {d.train, d.val, d.test};
            for (int s = 0; s < 3; s++)
                for (int64_t i = 0; i < s3[s]->vt->size(s3[s]); i++) dup |= seen[cvl_dataset_root_index(s3[s], i)]++;
            for (int i = 0; same_val && i < nv; i++) same_val = cvl_dataset_root_index(d.val, i) == val0[i];
            int covered = 0;
            for (int i = 0; i < 24; i++) covered += seen[i];
            CHECK(!dup && covered == 24, "train, val and test are disjoint and cover the folder");
            CHECK(same_val, "adding test_split leaves the validation split as it was");
        }
        cvl_data_close(&d);
        cvl_data_config_free(&c);
    }
}

int main(void) {
    if (!tmp_setup()) return 1;
    test_csv_targets();
    test_derived();
    test_splits();
    tmp_teardown();
    return tap_done();
}
