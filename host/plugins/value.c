#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

const char *cvl_param_type_name(cvl_param_type type) {
    switch (type) {
    case CVL_PARAM_INT: return "int";
    case CVL_PARAM_FLOAT: return "float";
    case CVL_PARAM_BOOL: return "bool";
    case CVL_PARAM_STRING: return "string";
    case CVL_PARAM_INT_LIST: return "int list";
    case CVL_PARAM_FLOAT_LIST: return "float list";
    default: return NULL;
    }
}

static bool parse_int(const char *s, int64_t *out) {
    while (isspace((unsigned char)*s)) s++;
    if (*s == '\0') return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s) return false;
    while (isspace((unsigned char)*end)) end++;
    if (*end != '\0') return false;
    *out = (int64_t)v;
    return true;
}

/* One element of a list: an integer or a finite number. */
static bool parse_elem(const char *p, bool is_float, char **end, int64_t *i, double *f) {
    errno = 0;
    if (is_float) {
        *f = strtod(p, end);
        return *end != p && errno != ERANGE && isfinite(*f);
    }
    long long v = strtoll(p, end, 10);
    *i = (int64_t)v;
    return *end != p && errno == 0;
}

/* "[1, 2, 3]" or "1,2,3" (and "[]"); the elements are integers for
 * CVL_PARAM_INT_LIST and finite numbers for CVL_PARAM_FLOAT_LIST. */
static cvl_status parse_list(cvl_value *out, cvl_param_type type, const char *text, cvl_err *e) {
    bool is_float = type == CVL_PARAM_FLOAT_LIST;
    const char *what = is_float ? "a list of numbers" : "a list of integers";
    size_t elem = is_float ? sizeof(double) : sizeof(int64_t);
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    bool bracket = *p == '[';
    if (bracket) p++;
    size_t cap = 8, len = 0;
    char *data = malloc(cap * elem);
    if (data == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    const char *why = NULL;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || (bracket && *p == ']')) break;
        char *end;
        int64_t iv = 0;
        double fv = 0;
        if (!parse_elem(p, is_float, &end, &iv, &fv)) {
            why = "is not";
            break;
        }
        if (len == cap) {
            cap *= 2;
            char *grown = realloc(data, cap * elem);
            if (grown == NULL) {
                free(data);
                return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
            }
            data = grown;
        }
        memcpy(data + len * elem, is_float ? (const void *)&fv : (const void *)&iv, elem);
        len++;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '\0' && !(bracket && *p == ']')) {
            why = "is not";
            break;
        }
    }
    if (why == NULL && bracket) {
        if (*p != ']') {
            why = "is missing its closing ']', so is not";
        } else {
            p++;
            while (isspace((unsigned char)*p)) p++;
            if (*p != '\0') why = "has text after ']', so is not";
        }
    }
    if (why != NULL) {
        free(data);
        return cvl_err_set(e, CVL_ERR_INVALID, "'%s' %s %s", text, why, what);
    }
    out->type = type;
    if (is_float) {
        out->u.flist.data = (double *)(void *)data;
        out->u.flist.len = len;
    } else {
        out->u.list.data = (int64_t *)(void *)data;
        out->u.list.len = len;
    }
    return CVL_OK;
}

cvl_status cvl_value_parse(cvl_value *out, cvl_param_type type, const char *text, cvl_err *e) {
    memset(out, 0, sizeof *out);
    out->type = type;
    switch (type) {
    case CVL_PARAM_INT:
        if (!parse_int(text, &out->u.i))
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is not an integer", text);
        return CVL_OK;
    case CVL_PARAM_FLOAT: {
        const char *s = text;
        while (isspace((unsigned char)*s)) s++;
        errno = 0;
        char *end;
        double v = strtod(s, &end);
        while (end != s && isspace((unsigned char)*end)) end++;
        if (*s == '\0' || end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is not a finite number", text);
        out->u.f = v;
        return CVL_OK;
    }
    case CVL_PARAM_BOOL:
        if (strcmp(text, "true") == 0) {
            out->u.b = true;
        } else if (strcmp(text, "false") == 0) {
            out->u.b = false;
        } else {
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is not a bool (true or false)", text);
        }
        return CVL_OK;
    case CVL_PARAM_STRING:
        out->u.s = cvl_strdup(text);
        return out->u.s ? CVL_OK : cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    case CVL_PARAM_INT_LIST:
    case CVL_PARAM_FLOAT_LIST:
        return parse_list(out, type, text, e);
    default:
        return cvl_err_set(e, CVL_ERR_INVALID, "unknown parameter type %d", (int)type);
    }
}

const char *cvl_json_kind(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a bool";
    case JSON_NULL: return "null";
    }
    return "?";
}

static cvl_status type_mismatch(const json_t *j, cvl_param_type type, cvl_err *e) {
    return cvl_err_set(e, CVL_ERR_INVALID, "expected %s, got %s", cvl_param_type_name(type),
                       cvl_json_kind(j));
}

cvl_status cvl_value_from_json(cvl_value *out, cvl_param_type type, const json_t *j, cvl_err *e) {
    memset(out, 0, sizeof *out);
    out->type = type;
    if (json_is_string(j) && type != CVL_PARAM_STRING) {
        return cvl_value_parse(out, type, json_string_value(j), e);
    }
    switch (type) {
    case CVL_PARAM_INT:
        if (!json_is_integer(j)) return type_mismatch(j, type, e);
        out->u.i = (int64_t)json_integer_value(j);
        return CVL_OK;
    case CVL_PARAM_FLOAT:
        if (!json_is_number(j)) return type_mismatch(j, type, e);
        out->u.f = json_number_value(j);
        return CVL_OK;
    case CVL_PARAM_BOOL:
        if (!json_is_boolean(j)) return type_mismatch(j, type, e);
        out->u.b = json_is_true(j);
        return CVL_OK;
    case CVL_PARAM_STRING:
        if (!json_is_string(j)) return type_mismatch(j, type, e);
        out->u.s = cvl_strdup(json_string_value(j));
        return out->u.s ? CVL_OK : cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    case CVL_PARAM_INT_LIST: {
        if (!json_is_array(j)) return type_mismatch(j, type, e);
        size_t n = json_array_size(j);
        out->u.list.data = malloc((n ? n : 1) * sizeof(int64_t));
        if (out->u.list.data == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        out->u.list.len = n;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(j, i);
            if (!json_is_integer(x)) {
                cvl_value_free(out);
                return cvl_err_set(e, CVL_ERR_INVALID, "expected int list, element %zu is %s", i,
                                   cvl_json_kind(x));
            }
            out->u.list.data[i] = (int64_t)json_integer_value(x);
        }
        return CVL_OK;
    }
    case CVL_PARAM_FLOAT_LIST: {
        if (!json_is_array(j)) return type_mismatch(j, type, e);
        size_t n = json_array_size(j);
        out->u.flist.data = malloc((n ? n : 1) * sizeof(double));
        if (out->u.flist.data == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
        out->u.flist.len = n;
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(j, i);
            if (!json_is_number(x)) {
                cvl_value_free(out);
                return cvl_err_set(e, CVL_ERR_INVALID, "expected float list, element %zu is %s", i,
                                   cvl_json_kind(x));
            }
            out->u.flist.data[i] = json_number_value(x);
        }
        return CVL_OK;
    }
    default:
        return cvl_err_set(e, CVL_ERR_INVALID, "unknown parameter type %d", (int)type);
    }
}

cvl_status cvl_value_copy(cvl_value *out, const cvl_value *in) {
    *out = *in;
    if (in->type == CVL_PARAM_STRING) {
        out->u.s = cvl_strdup(in->u.s);
        if (out->u.s == NULL) return CVL_ERR_NOMEM;
    } else if (in->type == CVL_PARAM_INT_LIST) {
        size_t n = in->u.list.len;
        out->u.list.data = malloc((n ? n : 1) * sizeof(int64_t));
        if (out->u.list.data == NULL) return CVL_ERR_NOMEM;
        if (n) memcpy(out->u.list.data, in->u.list.data, n * sizeof(int64_t));
    } else if (in->type == CVL_PARAM_FLOAT_LIST) {
        size_t n = in->u.flist.len;
        out->u.flist.data = malloc((n ? n : 1) * sizeof(double));
        if (out->u.flist.data == NULL) return CVL_ERR_NOMEM;
        if (n) memcpy(out->u.flist.data, in->u.flist.data, n * sizeof(double));
    }
    return CVL_OK;
}

json_t *cvl_value_to_json(const cvl_value *v) {
    switch (v->type) {
    case CVL_PARAM_INT: return json_integer((json_int_t)v->u.i);
    case CVL_PARAM_FLOAT: return json_real(v->u.f);
    case CVL_PARAM_BOOL: return json_boolean(v->u.b);
    case CVL_PARAM_STRING: return json_string(v->u.s);
    case CVL_PARAM_INT_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.list.len; i++)
            json_array_append_new(a, json_integer((json_int_t)v->u.list.data[i]));
        return a;
    }
    case CVL_PARAM_FLOAT_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.flist.len; i++)
            json_array_append_new(a, json_real(v->u.flist.data[i]));
        return a;
    }
    default: return json_null();
    }
}

void cvl_value_format(const cvl_value *v, char *buf, size_t n) {
    switch (v->type) {
    case CVL_PARAM_INT: snprintf(buf, n, "%" PRId64, v->u.i); break;
    case CVL_PARAM_FLOAT: snprintf(buf, n, "%g", v->u.f); break;
    case CVL_PARAM_BOOL: snprintf(buf, n, "%s", v->u.b ? "true" : "false"); break;
    case CVL_PARAM_STRING: snprintf(buf, n, "\"%s\"", v->u.s); break;
    case CVL_PARAM_INT_LIST: {
        size_t used = (size_t)snprintf(buf, n, "[");
        for (size_t i = 0; i < v->u.list.len && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%" PRId64, i ? ", " : "",
                                     v->u.list.data[i]);
        if (used < n) snprintf(buf + used, n - used, "]");
        break;
    }
    case CVL_PARAM_FLOAT_LIST: {
        size_t used = (size_t)snprintf(buf, n, "[");
        for (size_t i = 0; i < v->u.flist.len && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%g", i ? ", " : "", v->u.flist.data[i]);
        if (used < n) snprintf(buf + used, n - used, "]");
        break;
    }
    default: snprintf(buf, n, "?"); break;
    }
}

void cvl_value_free(cvl_value *v) {
    if (v->type == CVL_PARAM_STRING) {
        free(v->u.s);
        v->u.s = NULL;
    } else if (v->type == CVL_PARAM_INT_LIST) {
        free(v->u.list.data);
        v->u.list.data = NULL;
        v->u.list.len = 0;
    } else if (v->type == CVL_PARAM_FLOAT_LIST) {
        free(v->u.flist.data);
        v->u.flist.data = NULL;
        v->u.flist.len = 0;
    }
}
