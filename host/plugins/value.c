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

static cvl_status parse_list(cvl_value *out, const char *text, cvl_err *e) {
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    bool bracket = *p == '[';
    if (bracket) p++;
    size_t cap = 8, len = 0;
    int64_t *data = malloc(cap * sizeof *data);
    if (data == NULL) return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || (bracket && *p == ']')) break;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno != 0) {
            free(data);
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is not a list of integers", text);
        }
        if (len == cap) {
            cap *= 2;
            int64_t *grown = realloc(data, cap * sizeof *data);
            if (grown == NULL) {
                free(data);
                return cvl_err_set(e, CVL_ERR_NOMEM, "out of memory");
            }
            data = grown;
        }
        data[len++] = (int64_t)v;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '\0' && !(bracket && *p == ']')) {
            free(data);
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is not a list of integers", text);
        }
    }
    if (bracket) {
        if (*p != ']') {
            free(data);
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' is missing its closing ']'", text);
        }
        p++;
        while (isspace((unsigned char)*p)) p++;
        if (*p != '\0') {
            free(data);
            return cvl_err_set(e, CVL_ERR_INVALID, "'%s' has text after ']'", text);
        }
    }
    out->type = CVL_PARAM_INT_LIST;
    out->u.list.data = data;
    out->u.list.len = len;
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
        return parse_list(out, text, e);
    default:
        return cvl_err_set(e, CVL_ERR_INVALID, "unknown parameter type %d", (int)type);
    }
}

static const char *json_type_name(const json_t *j) {
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
                       json_type_name(j));
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
                                   json_type_name(x));
            }
            out->u.list.data[i] = (int64_t)json_integer_value(x);
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
    }
}
