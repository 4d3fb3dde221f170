/* value.h -- typed parameter values: parsed from a plugin's default text or
 * converted from a config's JSON, and handed to constructors through libffi. */
#ifndef CVL_PLUGINS_VALUE_H
#define CVL_PLUGINS_VALUE_H

#include <jansson.h>

#include "util/err.h"

typedef struct cvl_value {
    cvl_param_type type;
    union {
        int64_t i;
        double f;
        bool b;
        char *s;
        struct {
            int64_t *data;
            size_t len;
        } list;
        struct {
            double *data;
            size_t len;
        } flist;
    } u;
} cvl_value;

/* "an object", "a string", "an integer", ... for messages. */
const char *cvl_json_kind(const json_t *j);

/* "int", "float", ... or NULL for a type this host does not know. */
const char *cvl_param_type_name(cvl_param_type type);

/* Parses `text` in the syntax of `type` ("64", "0.1", "true", any string,
 * "[1, 2, 3]", "[0.5, 2]"). On failure returns CVL_ERR_INVALID with a reason in `e`
 * (without any prefix naming where the text came from). */
cvl_status cvl_value_parse(cvl_value *out, cvl_param_type type, const char *text, cvl_err *e);

/* Converts a JSON value. A JSON string is accepted for any type and parsed
 * as text (that is how --set key=value arrives); otherwise the JSON type
 * must match: integer for int, number for float, true/false for bool,
 * string for string, array of integers for int list, array of numbers for
 * float list. */
cvl_status cvl_value_from_json(cvl_value *out, cvl_param_type type, const json_t *j, cvl_err *e);

cvl_status cvl_value_copy(cvl_value *out, const cvl_value *in);

/* The value as JSON (new reference), for --list --json and resolved configs. */
json_t *cvl_value_to_json(const cvl_value *v);

/* The value as text in its type's own syntax; writes at most n bytes. */
void cvl_value_format(const cvl_value *v, char *buf, size_t n);

void cvl_value_free(cvl_value *v);

#endif
