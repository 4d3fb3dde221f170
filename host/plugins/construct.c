/* construct.c -- the host service table and constructor calls via libffi. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "core/graph_internal.h"
#include "plugins/graph_services.h"
#include "registry.h"
#include "util/strutil.h"

static void host_log(cvl_ctx *ctx, cvl_log_level level, const char *fmt, ...) {
    if (ctx == NULL || fmt == NULL) return;
    char body[CVL_ERR_MSG_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    static const char *const names[] = {"debug", "info", "warning", "error"};
    const char *lvl = level >= CVL_LOG_DEBUG && level <= CVL_LOG_ERROR ? names[level] : "info";
    char msg[CVL_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s %s: %s: %s", cvl_kind_name(ctx->component->desc->kind),
             ctx->component->desc->name, lvl, body);
    if (ctx->io->log) {
        ctx->io->log(ctx->io->log_user, msg);
    } else if (level >= CVL_LOG_WARN) {
        fprintf(stderr, "cvl: %s\n", msg);
    }
}

static cvl_status host_fail(cvl_ctx *ctx, cvl_status status, const char *fmt, ...) {
    if (status == CVL_OK) status = CVL_ERR_INVALID;
    if (ctx == NULL || fmt == NULL) return status;
    char body[CVL_ERR_MSG_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return cvl_err_set(ctx->err, status, "%s '%s': %s", cvl_kind_name(ctx->component->desc->kind),
                       ctx->component->desc->name, body);
}

static uint32_t host_num_inputs(cvl_ctx *ctx) { return ctx ? ctx->io->n_inputs : 0; }

static cvl_tensor *host_input(cvl_ctx *ctx, uint32_t i) {
    return ctx && i < ctx->io->n_inputs ? ctx->io->inputs[i] : NULL;
}

static cvl_status host_add_output(cvl_ctx *ctx, cvl_tensor *t) {
    if (ctx == NULL || t == NULL) return CVL_ERR_INVALID;
    if (ctx->io->n_outputs >= ctx->io->cap_outputs)
        return host_fail(ctx, CVL_ERR_INVALID, "produces more than %u outputs", ctx->io->cap_outputs);
    ctx->io->outputs[ctx->io->n_outputs++] = t;
    return CVL_OK;
}

static cvl_host host_table = {
    .struct_size = sizeof(cvl_host),
    .abi_version = CVL_ABI_VERSION,
    .log = host_log,
    .fail = host_fail,
    .num_inputs = host_num_inputs,
    .input = host_input,
    .add_output = host_add_output,
};

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static void host_init(void) { cvl_graph_services_fill(&host_table); }

const cvl_host *cvl_host_table(void) {
    pthread_once(&host_once, host_init);
    return &host_table;
}

/* One argument slot per parameter: libffi wants a pointer to each value. */
typedef union arg_slot {
    int64_t i;
    double f;
    uint8_t b;
    const void *p;
} arg_slot;

cvl_status cvl_component_build(const cvl_component *c, const json_t *params, cvl_build_io *io,
                               cvl_err *e) {
    const char *kind = cvl_kind_name(c->desc->kind), *name = c->desc->name;
    if (params != NULL && !json_is_object(params))
        return cvl_err_set(e, CVL_ERR_INVALID, "%s '%s': parameters must be a JSON object", kind,
                           name);
    /* Every key must be a declared parameter. */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)params, key, val) {
        bool known = false;
        for (uint32_t i = 0; i < c->n_params && !known; i++) known = strcmp(c->params[i]->name, key) == 0;
        if (!known) {
            const char *names[64];
            for (uint32_t i = 0; i < c->n_params; i++) names[i] = c->params[i]->name;
            const char *near = cvl_closest(key, names, c->n_params);
            return cvl_err_set(e, CVL_ERR_INVALID, "%s '%s' has no parameter '%s'%s%s%s", kind,
                               name, key, near ? " (did you mean '" : "", near ? near : "",
                               near ? "'?)" : "");
        }
    }
    uint32_t n = c->n_params;
    cvl_value *vals = calloc(n + 1, sizeof *vals);
    arg_slot *slots = calloc(n + 2, sizeof *slots);
    void **argv = calloc(n + 2, sizeof *argv);
    cvl_int_list *lists = calloc(n + 1, sizeof *lists);
    cvl_float_list *flists = calloc(n + 1, sizeof *flists);
    cvl_status st = CVL_OK;
    if (!vals || !slots || !argv || !lists || !flists) {
        st = cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        const cvl_param_desc *pd = c->params[i];
        const json_t *j = params ? json_object_get(params, pd->name) : NULL;
        cvl_err why = {0};
        if (j != NULL) {
            st = cvl_value_from_json(&vals[i], pd->type, j, &why);
        } else if (c->has_default[i]) {
            st = cvl_value_copy(&vals[i], &c->defaults[i]);
            if (st != CVL_OK) cvl_err_set(&why, st, "out of memory");
        } else {
            st = cvl_err_set(&why, CVL_ERR_INVALID, "is required (%s)", cvl_param_type_name(pd->type));
        }
        if (st != CVL_OK) {
            cvl_err_set(e, st, "%s '%s': parameter '%s': %s", kind, name, pd->name, why.msg);
            goto out;
        }
        switch (pd->type) {
        case CVL_PARAM_INT: slots[i + 2].i = vals[i].u.i; break;
        case CVL_PARAM_FLOAT: slots[i + 2].f = vals[i].u.f; break;
        case CVL_PARAM_BOOL: slots[i + 2].b = vals[i].u.b ? 1 : 0; break;
        case CVL_PARAM_STRING: slots[i + 2].p = vals[i].u.s; break;
        case CVL_PARAM_INT_LIST:
            lists[i].data = vals[i].u.list.data;
            lists[i].len = vals[i].u.list.len;
            slots[i + 2].p = &lists[i];
            break;
        case CVL_PARAM_FLOAT_LIST:
            flists[i].data = vals[i].u.flist.data;
            flists[i].len = vals[i].u.flist.len;
            slots[i + 2].p = &flists[i];
            break;
        }
        argv[i + 2] = &slots[i + 2];
    }
    /* Graph builders need a graph; a caller without one gets a scratch graph,
     * so a plugin can never reach a NULL one. */
    cvl_graph *scratch = NULL;
    if (io->user == NULL) {
        scratch = cvl_graph_new(0);
        if (scratch == NULL) {
            st = cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
            goto out;
        }
        io->user = scratch;
    }
    cvl_graph *g = io->user;
    char label[160];
    snprintf(label, sizeof label, "%s '%s'", kind, name);
    cvl_graph_set_label(g, label);
    int32_t depth = g->depth;
    cvl_ctx ctx = {.component = c, .io = io, .err = e};
    slots[0].p = cvl_host_table();
    slots[1].p = &ctx;
    argv[0] = &slots[0];
    argv[1] = &slots[1];
    ffi_arg ret = 0;
    ffi_call((ffi_cif *)&c->cif, FFI_FN(c->desc->ctor), &ret, argv);
    st = (cvl_status)(int32_t)ret;
    while (g->depth > depth) cvl_graph_pop_scope(g); /* a plugin that forgot a pop */
    cvl_graph_set_label(g, "");
    if (g->err.status != CVL_OK) {
        /* The builder's message names the shapes: it is the useful one. */
        cvl_err_set(e, g->err.status, "%s", g->err.msg);
        if (st == CVL_OK) st = g->err.status;
    }
    if (st != CVL_OK) {
        cvl_err_set(e, st, "%s '%s': constructor failed (%s)", kind, name, cvl_status_name(st));
    }
    if (scratch) {
        io->user = NULL;
        cvl_graph_free(scratch);
    }
out:
    if (vals)
        for (uint32_t i = 0; i < n; i++) cvl_value_free(&vals[i]);
    free(vals);
    free(slots);
    free(argv);
    free(lists);
    free(flists);
    return st;
}
