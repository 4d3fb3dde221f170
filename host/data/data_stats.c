/* Dataset statistics: per-channel mean and std, class counts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_config.h"

cvl_status cvl_data_stats(double *mean, double *std, int64_t *counts, const cvl_dataset *ds, cvl_err *e) {
    int ii = cvl_data_first_image(ds->inputs, ds->n_inputs), image = ii >= 0; /* else only the class counts */
    const cvl_data_decl *in = &ds->inputs[image ? ii : 0];
    int64_t m = image ? in->h * in->w : 0, n = ds->vt->size(ds);
    cvl_sample smp;
    memset(&smp, 0, sizeof smp);
    cvl_status st = CVL_OK;
    for (int i = 0; i < ds->n_inputs; i++)
        if ((smp.inputs[i] = malloc((size_t)cvl_data_decl_floats(&ds->inputs[i]) * sizeof(float) + 1)) == NULL)
            st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", ds->path);
    for (int t = 0; t < ds->n_targets; t++)
        if (cvl_data_is_float_target(&ds->targets[t]) &&
            (smp.values[t] = malloc((size_t)ds->targets[t].f * sizeof(float))) == NULL)
            st = cvl_err_set(e, CVL_ERR_NOMEM, "%s: out of memory", ds->path);
    double s[CVL_TF_MAX_CH] = {0}, s2[CVL_TF_MAX_CH] = {0};
    int64_t nc = !image ? 0 : in->c < CVL_TF_MAX_CH ? in->c : CVL_TF_MAX_CH;
    int ct = cvl_data_first_class(ds->targets, ds->n_targets);
    if (ct < 0) counts = NULL;
    if (counts != NULL) memset(counts, 0, (size_t)ds->targets[ct].classes * sizeof *counts);
    for (int64_t i = 0; st == CVL_OK && i < n; i++) {
        st = ds->vt->get_sample(&smp, ds, i, e);
        if (st == CVL_OK && counts != NULL) counts[smp.labels[ct]]++;
        for (int64_t ch = 0; st == CVL_OK && ch < nc; ch++) {
            double a = 0, a2 = 0; /* per sample, then summed: keeps double rounding small */
            const float *p = smp.inputs[ii] + ch * m;
            for (int64_t k = 0; k < m; k++) {
                double v = p[k];
                a += v;
                a2 += v * v;
            }
            s[ch] += a;
            s2[ch] += a2;
        }
    }
    for (int i = 0; i < CVL_DATA_MAX_IO; i++) free(smp.inputs[i]), free(smp.values[i]);
    double cnt = (double)n * (double)m;
    for (int64_t ch = 0; ch < CVL_TF_MAX_CH; ch++) {
        mean[ch] = ch < nc && cnt > 0 ? s[ch] / cnt : 0;
        std[ch] = ch < nc && cnt > 0 ? sqrt(fmax(0, s2[ch] / cnt - mean[ch] * mean[ch])) : 0;
    }
    return st;
}
