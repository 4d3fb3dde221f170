/* config.c -- the schema, defaults, --set overrides and checks. */
#include "train/config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "plugins/value.h"
#include "util/strutil.h"

/* K_OBJECT and K_LIST are checked here only for their JSON type; their
 * contents belong to another layer, which checks them with its own key paths
 * (the data layer: dataset, transforms; the model builder: inputs, targets). */
typedef enum ktype { K_INT, K_FLOAT, K_BOOL, K_STRING, K_ENUM, K_INT_LIST, K_FLOAT_LIST, K_COMPONENT, K_OBJECT, K_LIST } ktype;

typedef struct key {
    const char *path;
    ktype type;
    const char *def; /* JSON text; NULL: no default (optional, absent) */
    double min, max; /* numbers: inclusive range */
    const char *choices; /* K_ENUM: "a|b|c" */
    const char *doc;
} key;

#define BIG 1e18
/* The schema. docs/config.md is generated from this table. */
static const key schema[] = {
    /* the model */
    {"image_backbone", K_COMPONENT, "\"cnn\"", 0, 0, NULL, "encoder of the image input when `inputs` is not given: a name, or {\"name\": ..., params}"},
    {"image_pool", K_ENUM, NULL, 0, 0, "avg|max|flatten|none", "overrides the image encoder's `pool` parameter"},
    {"input_shape", K_INT_LIST, NULL, 1, 65536, NULL, "image input as [C, H, W], after the deterministic transforms (see docs/data.md)"},
    {"head", K_COMPONENT, "\"classification\"", 0, 0, NULL, "head of the target when `targets` is not given"},
    {"loss", K_COMPONENT, "\"cross_entropy\"", 0, 0, NULL, "loss of the target when `targets` is not given"},
    {"inputs", K_LIST, NULL, 0, 0, NULL, "the declarative model's inputs: [{\"name\": dataset input, \"encoder\": component or null}] (see docs/config.md)"},
    {"targets", K_LIST, NULL, 0, 0, NULL, "its targets: [{\"name\": dataset target, \"head\": ..., \"loss\": ..., \"weight\": 1.0}]"},
    {"aggregator", K_COMPONENT, NULL, 0, 0, NULL, "joins the encoded inputs (default: `concat` for several inputs, none for one)"},
    {"dropout", K_FLOAT, NULL, 0, 0.999, NULL, "passed to every head's `dropout` when set"},
    {"weights_map", K_OBJECT, NULL, 0, 0, NULL, "{\"file prefix\": \"model prefix\"}: renames tensors of a --weights file (see docs/config.md)"},
    /* the data (checked by the data layer, docs/data.md) */
    {"dataset", K_OBJECT, "{\"format\": \"idx\"}", 0, 0, NULL, "the dataset: {\"format\": idx|cifar|folder|csv, \"root\": ..., ...} (docs/data.md)"},
    {"transforms", K_LIST, "[]", 0, 0, NULL, "transform steps; deterministic ones apply to every split, random ones to training only (docs/data.md)"},
    {"val_split", K_FLOAT, "0.1", 0, 0.99, NULL, "fraction of the training set held out for validation (0: validate on the test split)"},
    {"test_split", K_FLOAT, "0", 0, 0.99, NULL, "fraction held out for testing when the dataset has no test split (folder, csv)"},
    {"workers", K_INT, "2", 0, 64, NULL, "loader threads (0: load in the training thread)"},
    /* the schedule */
    {"epochs", K_INT, "1", 1, 1e6, NULL, "passes over the training set"},
    {"train_batch_size", K_INT, "128", 1, 1e6, NULL, "samples per training step"},
    {"val_batch_size", K_INT, "1000", 1, 1e6, NULL, "samples per evaluation batch"},
    {"train_steps_per_epoch", K_INT, "0", 0, BIG, NULL, "cap on steps per epoch (0: the whole training set)"},
    {"val_steps_per_epoch", K_INT, "0", 0, BIG, NULL, "cap on validation batches (0: the whole split)"},
    {"n_gradients", K_INT, "1", 1, 1e6, NULL, "gradient accumulation: batches per optimizer step (the loss is averaged over them)"},
    {"optimizer_name", K_COMPONENT, "\"sgd\"", 0, 0, NULL, "optimizer: a name, or {\"name\": ..., params}"},
    {"lr", K_FLOAT, "0.05", 0, 1e6, NULL, "peak learning rate"},
    {"lr_schedule.name", K_ENUM, "\"constant\"", 0, 0, "constant|step|cosine|one_cycle", "learning-rate schedule"},
    {"lr_schedule.warmup_steps", K_INT, "0", 0, BIG, NULL, "linear warm-up from 0 over this many optimizer steps"},
    {"lr_schedule.step_size", K_INT, "1000", 1, BIG, NULL, "step: multiply by gamma every step_size optimizer steps"},
    {"lr_schedule.gamma", K_FLOAT, "0.1", 0, 1, NULL, "step: the factor"},
    {"lr_schedule.min_lr", K_FLOAT, "0", 0, 1e6, NULL, "cosine: the floor"},
    {"weight_decay", K_FLOAT, NULL, 0, 1e6, NULL, "passed to the optimizer's weight_decay when set"},
    {"clip_grad_norm", K_FLOAT, "0", 0, 1e9, NULL, "clip the global gradient norm (0: off)"},
    {"early_stopping.patience", K_INT, "0", 0, BIG, NULL, "stop after this many validations without improvement of `checkpoint_metric` (0: off)"},
    {"early_stopping.min_delta", K_FLOAT, "0", 0, 1e9, NULL, "the least change that counts as an improvement"},
    {"checkpoint_metric", K_STRING, "\"val_loss\"", 0, 0, NULL, "the validation metric that picks best.safetensors: val_loss (lower is better) or val_<metric> of the first target (higher is better, e.g. val_accuracy)"},
    {"seed", K_INT, "0", 0, BIG, NULL, "seed of initialisation, split, shuffling, augmentation and dropout"},
    /* where and how */
    {"device", K_STRING, "\"cpu\"", 0, 0, NULL, "cpu, auto, vulkan, vulkan:N or vulkan:NAME (see cvl-host --devices)"},
    {"threads", K_INT, "0", 0, 1024, NULL, "CPU threads (0: all cores)"},
    {"log_every", K_INT, "50", 1, BIG, NULL, "optimizer steps between metric lines"},
    {"run_dir", K_STRING, "\"runs\"", 0, 0, NULL, "parent of the run directories"},
    {"experiment_tracker", K_ENUM, "\"none\"", 0, 0, "none|mlflow", "also write the run in MLflow's file-store layout"},
    {"experiment_name", K_STRING, NULL, 0, 0, NULL, "MLflow experiment (default: the config file's name)"},
    {"mlflow_root", K_STRING, "\"mlruns\"", 0, 0, NULL, "MLflow file store"},
    /* quality checks (docs/config.md) */
    {"checks.enabled", K_BOOL, "true", 0, 0, NULL, "run the quality checks before training"},
    {"checks.overfit_steps", K_INT, "30", 0, 10000, NULL, "overfit check: optimizer steps on one batch (0: skip this check)"},
    {"checks.overfit_factor", K_FLOAT, "2", 1, 1e6, NULL, "overfit check: the loss must fall by this factor"},
};
#define N_KEYS (sizeof schema / sizeof schema[0])

static const char *type_name(ktype t) {
    static const char *const n[] = {"an integer",        "a number",    "a bool",    "a string",  "a string",
                                    "a list of integers", "a list of numbers", "a component", "an object", "a list"};
    return n[t];
}

static const key *find_key(const char *path) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(schema[i].path, path) == 0) return &schema[i];
    return NULL;
}

/* Whether `path` is a section: some key lives below it. */
static bool is_section(const char *path) {
    size_t n = strlen(path);
    for (size_t i = 0; i < N_KEYS; i++)
        if (strncmp(schema[i].path, path, n) == 0 && schema[i].path[n] == '.') return true;
    return false;
}

/* The direct children names of a section ("" is the root), for suggestions. */
static size_t children(const char *section, const char **out, size_t cap) {
    size_t n = strlen(section), count = 0;
    for (size_t i = 0; i < N_KEYS && count < cap; i++) {
        const char *p = schema[i].path;
        if (n && (strncmp(p, section, n) != 0 || p[n] != '.')) continue;
        const char *rest = n ? p + n + 1 : p;
        static char names[N_KEYS][64];
        size_t len = strcspn(rest, ".");
        if (len >= 64) continue;
        bool dup = false;
        for (size_t k = 0; k < count; k++) dup |= strncmp(out[k], rest, len) == 0 && out[k][len] == '\0';
        if (dup) continue;
        memcpy(names[count], rest, len);
        names[count][len] = '\0';
        out[count] = names[count];
        count++;
    }
    return count;
}

static cvl_status check_value(const cvl_config *cfg, const key *k, const json_t *v, cvl_err *e) {
    const char *src = cfg->source;
    bool ok = true;
    switch (k->type) {
    case K_INT: ok = json_is_integer(v); break;
    case K_FLOAT: ok = json_is_number(v); break;
    case K_BOOL: ok = json_is_boolean(v); break;
    case K_STRING:
    case K_ENUM: ok = json_is_string(v); break;
    case K_INT_LIST:
    case K_FLOAT_LIST: {
        ok = json_is_array(v);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) ok &= k->type == K_INT_LIST ? json_is_integer(x) : json_is_number(x);
        break;
    }
    case K_OBJECT: ok = json_is_object(v); break;
    case K_LIST: ok = json_is_array(v); break;
    case K_COMPONENT:
        ok = json_is_string(v) || (json_is_object(v) && json_is_string(json_object_get(v, "name")));
        if (!ok)
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be a component name or {\"name\": ..., params}, got %s",
                               src, k->path, cvl_json_kind(v));
        return CVL_OK;
    }
    if (!ok) return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be %s, got %s", src, k->path, type_name(k->type), cvl_json_kind(v));
    if (k->type == K_INT || k->type == K_FLOAT) {
        double x = json_number_value(v);
        if (!(x >= k->min && x <= k->max))
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be in [%g, %g], got %g", src, k->path, k->min, k->max, x);
    }
    if (k->type == K_INT_LIST || k->type == K_FLOAT_LIST) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            double d = json_number_value(x);
            if (!(d >= k->min && d <= k->max))
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s[%zu] must be in [%g, %g], got %g", src, k->path, i, k->min,
                                   k->max, d);
        }
    }
    if (k->type == K_ENUM) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        for (const char *c = k->choices; *c;) {
            size_t len = strcspn(c, "|");
            if (len == n && strncmp(c, s, n) == 0) return CVL_OK;
            c += len + (c[len] == '|');
        }
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be one of %s, got '%s'", src, k->path, k->choices, s);
    }
    return CVL_OK;
}

/* Checks every key of `obj` (the section `prefix`) against the schema. */
static cvl_status check_section(const cvl_config *cfg, const json_t *obj, const char *prefix, cvl_err *e) {
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        const key *k = find_key(path);
        if (k != NULL) {
            if (json_is_null(v) && k->def == NULL) continue;
            cvl_status st = check_value(cfg, k, v, e);
            if (st) return st;
        } else if (is_section(path)) {
            if (!json_is_object(v))
                return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s must be an object, got %s", cfg->source, path, cvl_json_kind(v));
            cvl_status st = check_section(cfg, v, path, e);
            if (st) return st;
        } else {
            const char *names[64];
            size_t n = children(prefix, names, 64);
            const char *near = cvl_closest(name, names, n);
            return cvl_err_set(e, CVL_ERR_INVALID, "%s: %s is not a known key%s%s%s", cfg->source, path,
                               near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
    }
    return CVL_OK;
}

/* The object at a dotted path, created on the way when `create`. */
static json_t *walk(json_t *root, const char *path, bool create, const char **leaf) {
    json_t *cur = root;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.')) != NULL) {
        *dot = '\0';
        json_t *next = json_object_get(cur, seg);
        if (next == NULL || !json_is_object(next)) {
            if (!create || (next != NULL && !json_is_object(next))) return NULL;
            next = json_object();
            json_object_set_new(cur, seg, next);
        }
        cur = next;
        seg = dot + 1;
    }
    *leaf = path + (seg - buf);
    return cur;
}

static cvl_status apply_set(cvl_config *cfg, const char *set, cvl_err *e) {
    const char *eq = strchr(set, '=');
    if (eq == NULL || eq == set)
        return cvl_err_set(e, CVL_ERR_INVALID, "--set %s: expected key=value", set);
    char path[256];
    size_t n = (size_t)(eq - set);
    if (n >= sizeof path) return cvl_err_set(e, CVL_ERR_INVALID, "--set: key too long");
    memcpy(path, set, n);
    path[n] = '\0';
    const char *text = eq + 1;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v == NULL) v = json_string(text); /* not JSON: a plain string */
    /* A component given by name keeps its parameters: image_backbone.width=32. */
    const char *leaf;
    json_t *parent = walk(cfg->root, path, false, &leaf);
    if (parent == NULL) {
        /* the first segment may be a component given as a bare string */
        char first[256];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(path, "."), path);
        const key *k = find_key(first);
        json_t *cur = json_object_get(cfg->root, first);
        if (k && (k->type == K_COMPONENT || k->type == K_OBJECT) && cur == NULL && k->def) {
            /* a parameter of the default component, a key of the default object */
            json_object_set_new(cfg->root, first, json_loads(k->def, JSON_DECODE_ANY, NULL));
            cur = json_object_get(cfg->root, first);
        }
        if (k && k->type == K_COMPONENT && json_is_string(cur)) {
            json_t *obj = json_pack("{s:O}", "name", cur);
            json_object_set_new(cfg->root, first, obj);
        }
        parent = walk(cfg->root, path, true, &leaf);
    }
    if (parent == NULL) {
        json_decref(v);
        return cvl_err_set(e, CVL_ERR_INVALID, "--set %s: %s is not an object", set, path);
    }
    json_object_set_new(parent, leaf, v);
    return CVL_OK;
}

static void apply_defaults(json_t *root) {
    for (size_t i = 0; i < N_KEYS; i++) {
        if (schema[i].def == NULL) continue;
        const char *leaf;
        json_t *parent = walk(root, schema[i].path, true, &leaf);
        if (parent == NULL) continue;
        json_t *have = json_object_get(parent, leaf);
        if (have == NULL) {
            json_object_set_new(parent, leaf, json_loads(schema[i].def, JSON_DECODE_ANY, NULL));
        } else if (schema[i].type == K_OBJECT && json_is_object(have)) {
            /* an object given in part keeps the default's other keys ("dataset": {"root": ...} is still idx) */
            json_t *d = json_loads(schema[i].def, JSON_DECODE_ANY, NULL);
            json_object_update_missing(have, d);
            json_decref(d);
        }
    }
}

cvl_status cvl_config_from_json(cvl_config *cfg, json_t *root, const char *source, const char *const *sets,
                                size_t n_sets, cvl_err *e) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->source, sizeof cfg->source, "%s", source);
    if (!json_is_object(root)) return cvl_err_set(e, CVL_ERR_INVALID, "%s: a config is a JSON object", source);
    cfg->root = json_deep_copy(root);
    for (size_t i = 0; i < n_sets; i++) {
        cvl_status st = apply_set(cfg, sets[i], e);
        if (st) return st;
    }
    cvl_status st = check_section(cfg, cfg->root, "", e);
    if (st) return st;
    apply_defaults(cfg->root);
    /* Cross-key checks. */
    const json_t *shape = cvl_config_get(cfg, "input_shape");
    if (shape && !json_is_null(shape) && json_array_size(shape) != 3)
        return cvl_err_set(e, CVL_ERR_INVALID, "%s: input_shape must be [C, H, W], got %zu values", source,
                           json_array_size(shape));
    return CVL_OK;
}

cvl_status cvl_config_load(cvl_config *cfg, const char *path, const char *const *sets, size_t n_sets, cvl_err *e) {
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        memset(cfg, 0, sizeof *cfg);
        return cvl_err_set(e, CVL_ERR_IO, "%s: not a regular file", path);
    }
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        memset(cfg, 0, sizeof *cfg);
        if (je.line <= 0) return cvl_err_set(e, CVL_ERR_IO, "%s: %s", path, je.text);
        return cvl_err_set(e, CVL_ERR_INVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    cvl_status st = cvl_config_from_json(cfg, root, path, sets, n_sets, e);
    json_decref(root);
    return st;
}

void cvl_config_free(cvl_config *cfg) {
    json_decref(cfg->root);
    cfg->root = NULL;
}

const json_t *cvl_config_get(const cvl_config *cfg, const char *path) {
    const char *leaf;
    json_t *parent = walk(cfg->root, path, false, &leaf);
    return parent ? json_object_get(parent, leaf) : NULL;
}

int64_t cvl_config_int(const cvl_config *cfg, const char *path) { return (int64_t)json_integer_value(cvl_config_get(cfg, path)); }
double cvl_config_float(const cvl_config *cfg, const char *path) { return json_number_value(cvl_config_get(cfg, path)); }
const char *cvl_config_string(const cvl_config *cfg, const char *path) { return json_string_value(cvl_config_get(cfg, path)); }
bool cvl_config_bool(const cvl_config *cfg, const char *path) { return json_is_true(cvl_config_get(cfg, path)); }

const char *cvl_config_component(const cvl_config *cfg, const char *path, json_t **params) {
    const json_t *v = cvl_config_get(cfg, path);
    *params = NULL;
    if (json_is_string(v)) return json_string_value(v);
    if (!json_is_object(v)) return NULL;
    *params = json_deep_copy(v);
    json_object_del(*params, "name");
    return json_string_value(json_object_get(v, "name"));
}

void cvl_config_write_docs(FILE *out) {
    fprintf(out, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        const key *k = &schema[i];
        char choices[128] = "";
        if (k->type == K_ENUM) {
            size_t o = 0;
            for (const char *c = k->choices; *c && o + 4 < sizeof choices; c++) {
                if (*c == '|') {
                    memcpy(choices + o, " / ", 3);
                    o += 3;
                } else {
                    choices[o++] = *c;
                }
            }
            choices[o] = '\0';
        }
        fprintf(out, "| `%s` | %s%s%s | %s%s%s | %s |\n", k->path, type_name(k->type), k->type == K_ENUM ? ": " : "",
                choices, k->def ? "`" : "", k->def ? k->def : "(unset)", k->def ? "`" : "", k->doc);
    }
}
