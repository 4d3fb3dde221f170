/* cmd_data.c -- `cvl-host data CONFIG [--grid FILE] [--json]`: what the
 * config's data section yields: the inputs and targets (with the model's
 * input shape after the transforms), split sizes, class counts, per-channel
 * mean and std of the training split, what eval uses, and a PNG grid of
 * augmented samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/data_config.h"

static json_t *split_json(const cvl_dataset *ds, int classes, cvl_err *e) {
    double mean[CVL_TF_MAX_CH], sd[CVL_TF_MAX_CH];
    int64_t counts[CVL_DATA_MAX_CLASSES] = {0};
    if (cvl_data_stats(mean, sd, counts, ds, e) != CVL_OK) return NULL;
    json_t *o = json_pack("{s:I}", "size", (json_int_t)ds->vt->size(ds));
    json_t *cc = json_array(), *m = json_array(), *s = json_array();
    for (int k = 0; k < classes; k++) json_array_append_new(cc, json_integer(counts[k]));
    int ii = cvl_data_first_image(ds->inputs, ds->n_inputs);
    for (int64_t ch = 0; ii >= 0 && ch < ds->inputs[ii].c && ch < CVL_TF_MAX_CH; ch++) {
        json_array_append_new(m, json_real(mean[ch]));
        json_array_append_new(s, json_real(sd[ch]));
    }
    json_object_set_new(o, "class_counts", cc);
    json_object_set_new(o, "mean", m);
    json_object_set_new(o, "std", s);
    return o;
}

static json_t *shape_json(const int64_t *s) { return json_pack("[I,I,I]", (json_int_t)s[0], (json_int_t)s[1], (json_int_t)s[2]); }

/* One entry per input or target: name, kind, and its size. */
static json_t *decls_json(const cvl_data_decl *d, int n, const int64_t *image_shape) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s}", "name", d[i].name, "kind", cvl_data_kind_name(d[i].kind));
        if (d[i].kind == CVL_DATA_IMAGE) json_object_set_new(o, "shape", shape_json(image_shape != NULL && image_shape[0] != 0 ? image_shape : &d[i].c));
        else if (d[i].kind == CVL_DATA_CLASS) json_object_set_new(o, "classes", json_integer(d[i].classes));
        else json_object_set_new(o, "f", json_integer(d[i].f));
        json_array_append_new(a, o);
    }
    return a;
}

static void print_decls(const char *what, const json_t *a) {
    printf("%-8s", what);
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
        printf("%s %s %s", i ? "," : "", json_string_value(json_object_get(o, "name")),
               json_string_value(json_object_get(o, "kind")));
        json_t *sh = json_object_get(o, "shape");
        if (sh != NULL)
            printf(" [%lld,%lld,%lld]", (long long)json_integer_value(json_array_get(sh, 0)),
                   (long long)json_integer_value(json_array_get(sh, 1)), (long long)json_integer_value(json_array_get(sh, 2)));
        else
            printf(" (%lld)", (long long)json_integer_value(json_object_get(o, json_object_get(o, "f") ? "f" : "classes")));
    }
    printf("\n");
}

static void print_split(const char *name, const json_t *o) {
    printf("%-6s %7lld samples  mean", name, (long long)json_integer_value(json_object_get(o, "size")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "mean"), i, v) printf(" %.4f", json_real_value(v));
    printf("  std");
    json_array_foreach(json_object_get(o, "std"), i, v) printf(" %.4f", json_real_value(v));
    printf("\n       classes:");
    json_array_foreach(json_object_get(o, "class_counts"), i, v) printf(" %lld", (long long)json_integer_value(v));
    printf("\n");
}

static cvl_status grid(const char *path, const cvl_data *d, const cvl_data_config *c, cvl_err *e) {
    if (cvl_data_first_image(d->train->inputs, d->train->n_inputs) < 0)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: --grid: the dataset has no image input", c->path);
    cvl_loader *ld;
    cvl_loader_opts o = cvl_data_loader_opts(c, 1);
    o.batch = c->train_batch < 64 ? c->train_batch : 64;
    cvl_status st = cvl_loader_init(&ld, d->train, &o, e);
    if (st != CVL_OK) return st;
    cvl_loader_start_epoch(ld, 0);
    const cvl_batch *b;
    st = cvl_loader_next(&b, ld, e);
    if (st == CVL_OK && b == NULL) st = cvl_err_set(e, CVL_ERR_INVALID, "%s: the training split is empty", c->path);
    if (st == CVL_OK) st = cvl_data_write_grid(path, b, c->class_names, c->classes, e);
    cvl_loader_free(ld);
    return st;
}

int cvl_cmd_data(cvl_cli *cli, int argc, char **argv) {
    (void)cli;
    const char *cfg = NULL, *grid_path = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) as_json = 1;
        else if (strcmp(argv[i], "--grid") == 0 && i + 1 < argc) grid_path = argv[++i];
        else if (argv[i][0] != '-' && cfg == NULL) cfg = argv[i];
        else {
            fprintf(stderr, "usage: cvl-host data CONFIG [--grid FILE] [--json]\n");
            return 2;
        }
    }
    if (cfg == NULL) {
        fprintf(stderr, "usage: cvl-host data CONFIG [--grid FILE] [--json]\n");
        return 2;
    }
    cvl_err e = {0};
    json_error_t je;
    json_t *j = json_load_file(cfg, 0, &je);
    if (j == NULL) {
        fprintf(stderr, "cvl-host: %s:%d: %s\n", cfg, je.line, je.text);
        return 1;
    }
    cvl_data_config c;
    cvl_data d = {0};
    cvl_status st = cvl_data_config_parse(&c, j, cfg, &e);
    json_decref(j);
    if (st == CVL_OK) st = cvl_data_open(&d, &c, &e);
    json_t *out = json_object();
    if (st == CVL_OK) {
        /* image inputs as the model sees them: after the transforms */
        json_object_set_new(out, "inputs", decls_json(d.full->inputs, d.full->n_inputs, d.input_shape));
        json_object_set_new(out, "targets", decls_json(d.full->targets, d.full->n_targets, NULL));
        if (d.input_shape[0] != 0) {
            json_object_set_new(out, "input_shape", shape_json(d.input_shape));
            json_object_set_new(out, "decode_shape", shape_json(d.decode_shape));
        }
        json_object_set_new(out, "eval_split", json_string(d.eval_split));
    }
    const char *names[] = {"train", "val", "test"};
    cvl_dataset *splits[] = {d.train, d.val, d.test};
    for (int i = 0; st == CVL_OK && i < 3; i++) {
        if (splits[i] == NULL) continue; /* a folder has no test split */
        json_t *o = split_json(splits[i], c.classes, &e);
        if (o == NULL) st = e.status;
        else json_object_set_new(out, names[i], o);
    }
    if (st == CVL_OK && grid_path != NULL) st = grid(grid_path, &d, &c, &e);
    if (st == CVL_OK && as_json) {
        if (grid_path != NULL) json_object_set_new(out, "grid", json_string(grid_path));
        char *s = json_dumps(out, JSON_INDENT(2));
        puts(s);
        free(s);
    } else if (st == CVL_OK) {
        printf("%s: %s dataset at %s, %d classes\n", cfg, c.format, d.full->path, c.classes);
        print_decls("inputs", json_object_get(out, "inputs"));
        print_decls("targets", json_object_get(out, "targets"));
        for (int i = 0; i < 3; i++)
            if (splits[i] != NULL) print_split(names[i], json_object_get(out, names[i]));
        printf("eval   the %s split\n", d.eval_split);
        if (grid_path != NULL) printf("grid   %s (labels in %s.txt)\n", grid_path, grid_path);
    }
    json_decref(out);
    if (st != CVL_OK) fprintf(stderr, "cvl-host: %s\n", e.msg);
    cvl_data_close(&d);
    cvl_data_config_free(&c);
    return st == CVL_OK ? 0 : 1;
}
