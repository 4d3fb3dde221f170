/* config_internal.h -- helpers shared by the data config parsers
 * (data_config.c, config_tf.c, config_targets.c); not part of the API.
 * Every message is "<config>: <key path>: <reason>". */
#ifndef CVL_DATA_CONFIG_INTERNAL_H
#define CVL_DATA_CONFIG_INTERNAL_H

#include "data/data_config.h"

/* "<path>: <where>.<key>: unknown key (did you mean '<closest>'?)" */
cvl_status cvl_dcfg_unknown_key(const char *path, const char *where, const char *key, const char *const *known,
                                size_t n, cvl_err *e);
/* where may be "" for a top-level key. */
cvl_status cvl_dcfg_num(double *out, const json_t *v, const char *path, const char *where, const char *key, cvl_err *e);
cvl_status cvl_dcfg_int(int64_t *out, const json_t *v, const char *path, const char *where, const char *key, cvl_err *e);
/* " (did you mean 'x'?)" or "" -- for "not one of" messages. */
const char *cvl_dcfg_suggest(char *buf, size_t len, const char *s, const char *const *known, size_t n);

cvl_status cvl_dcfg_transform(cvl_transform *t, const json_t *o, int i, const char *path, cvl_err *e);
cvl_status cvl_dcfg_columns(cvl_data_config *c, const json_t *v, const char *path, cvl_err *e);
cvl_status cvl_dcfg_targets(cvl_data_config *c, const json_t *v, const char *path, cvl_err *e);
void cvl_dcfg_free_targets(cvl_data_config *c);

#endif
