/* metrics.c -- accuracy, top-5, confusion, AUROC, MAE, RMSE, R^2. */
#include "train/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    float score;
    uint8_t positive;
} scored;

struct cvl_metrics {
    cvl_target_kind kind;
    int64_t dim, n;
    int64_t correct, top5;
    int64_t *confusion; /* dim x dim */
    /* binary scores per label: label l's scores in sc[l] */
    scored **sc;
    int64_t cap;
    /* numerical */
    double abs_err, sq_err, sum_y, sum_y2;
    int64_t values;
};

cvl_metrics *cvl_metrics_new(cvl_target_kind kind, int64_t dim) {
    cvl_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->kind = kind;
    m->dim = dim;
    bool ok = true;
    if (kind == CVL_TARGET_CLASS) ok = (m->confusion = calloc((size_t)(dim * dim), sizeof *m->confusion)) != NULL;
    if (kind == CVL_TARGET_BOOLEAN || kind == CVL_TARGET_MULTILABEL)
        ok = (m->sc = calloc((size_t)dim, sizeof *m->sc)) != NULL;
    if (!ok) {
        free(m);
        return NULL;
    }
    return m;
}

void cvl_metrics_free(cvl_metrics *m) {
    if (m == NULL) return;
    for (int64_t l = 0; m->sc && l < m->dim; l++) free(m->sc[l]);
    free(m->sc);
    free(m->confusion);
    free(m);
}

void cvl_metrics_reset(cvl_metrics *m) {
    m->n = m->correct = m->top5 = m->values = 0;
    m->abs_err = m->sq_err = m->sum_y = m->sum_y2 = 0;
    if (m->confusion) memset(m->confusion, 0, (size_t)(m->dim * m->dim) * sizeof *m->confusion);
}

static void add_class(cvl_metrics *m, const float *z, int32_t y) {
    int64_t K = m->dim, best = 0, above = 0;
    for (int64_t c = 1; c < K; c++)
        if (z[c] > z[best]) best = c;
    for (int64_t c = 0; c < K; c++) above += z[c] > z[y] || (z[c] == z[y] && c < y);
    m->correct += best == y;
    m->top5 += above < 5;
    m->confusion[y * K + best]++;
}

void cvl_metrics_add(cvl_metrics *m, const float *pred, const int32_t *labels, const float *values, int64_t n) {
    if (m->kind == CVL_TARGET_CLASS) {
        for (int64_t i = 0; i < n; i++)
            if (labels[i] >= 0 && labels[i] < m->dim) add_class(m, pred + i * m->dim, labels[i]);
    } else if (m->kind == CVL_TARGET_NUMERICAL) {
        for (int64_t i = 0; i < n * m->dim; i++) {
            double d = (double)pred[i] - values[i];
            m->abs_err += fabs(d);
            m->sq_err += d * d;
            m->sum_y += values[i];
            m->sum_y2 += (double)values[i] * values[i];
        }
        m->values += n * m->dim;
    } else {
        if (m->n + n > m->cap) {
            int64_t cap = m->cap ? m->cap : 1024;
            while (cap < m->n + n) cap *= 2;
            for (int64_t l = 0; l < m->dim; l++) {
                scored *p = realloc(m->sc[l], (size_t)cap * sizeof *p);
                if (p == NULL) return; /* metrics are best effort: AUROC over what fits */
                m->sc[l] = p;
            }
            m->cap = cap;
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t l = 0; l < m->dim; l++) {
                float z = pred[i * m->dim + l];
                uint8_t pos = values[i * m->dim + l] > 0.5f;
                m->sc[l][m->n + i] = (scored){z, pos};
                m->correct += (z > 0) == pos;
            }
    }
    m->n += n;
}

int64_t cvl_metrics_count(const cvl_metrics *m) { return m->n; }

static int by_score(const void *a, const void *b) {
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* Mann-Whitney: the probability a positive outscores a negative, ties half.
 * NaN when either class is absent. Sorts s. */
static double auroc(scored *s, int64_t n) {
    qsort(s, (size_t)n, sizeof *s, by_score);
    double rank_sum = 0;
    int64_t pos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && s[j].score == s[i].score) j++;
        double mid = 0.5 * (double)(i + 1 + j); /* average 1-based rank of the tie group */
        for (int64_t k = i; k < j; k++)
            if (s[k].positive) rank_sum += mid, pos++;
        i = j;
    }
    int64_t neg = n - pos;
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - 0.5 * (double)pos * (double)(pos + 1)) / ((double)pos * (double)neg);
}

static double accuracy(const cvl_metrics *m) {
    int64_t total = m->kind == CVL_TARGET_CLASS ? m->n : m->n * m->dim;
    return total ? (double)m->correct / (double)total : 0;
}

double cvl_metrics_main(const cvl_metrics *m) {
    if (m->kind == CVL_TARGET_NUMERICAL) return m->values ? -m->abs_err / (double)m->values : 0;
    return accuracy(m);
}

static void set_num(json_t *obj, const char *prefix, const char *key, double v) {
    char k[128];
    snprintf(k, sizeof k, "%s%s", prefix, key);
    json_object_set_new(obj, k, isfinite(v) ? json_real(v) : json_null());
}

void cvl_metrics_to_json(const cvl_metrics *m, json_t *obj, const char *prefix, bool full) {
    if (m->kind == CVL_TARGET_NUMERICAL) {
        double n = (double)m->values;
        if (n == 0) return;
        set_num(obj, prefix, "mae", m->abs_err / n);
        set_num(obj, prefix, "rmse", sqrt(m->sq_err / n));
        double var = m->sum_y2 - m->sum_y * m->sum_y / n; /* total sum of squares */
        set_num(obj, prefix, "r2", var > 0 ? 1 - m->sq_err / var : NAN);
        return;
    }
    set_num(obj, prefix, "accuracy", accuracy(m));
    if (m->kind == CVL_TARGET_CLASS) {
        if (m->dim > 5) set_num(obj, prefix, "top5", m->n ? (double)m->top5 / (double)m->n : 0);
        if (!full) return;
        json_t *per = json_array(), *conf = json_array();
        for (int64_t y = 0; y < m->dim; y++) {
            int64_t row = 0;
            json_t *r = json_array();
            for (int64_t c = 0; c < m->dim; c++) {
                row += m->confusion[y * m->dim + c];
                json_array_append_new(r, json_integer(m->confusion[y * m->dim + c]));
            }
            json_array_append_new(conf, r);
            json_array_append_new(per, row ? json_real((double)m->confusion[y * m->dim + y] / (double)row) : json_null());
        }
        char k[128];
        snprintf(k, sizeof k, "%sper_class_accuracy", prefix);
        json_object_set_new(obj, k, per);
        snprintf(k, sizeof k, "%sconfusion", prefix);
        json_object_set_new(obj, k, conf);
        return;
    }
    /* boolean / multi-label: macro AUROC over labels with both classes */
    double sum = 0;
    int counted = 0;
    for (int64_t l = 0; l < m->dim; l++) {
        double a = m->cap >= m->n ? auroc(m->sc[l], m->n) : NAN;
        if (isfinite(a)) sum += a, counted++;
    }
    set_num(obj, prefix, "auroc", counted ? sum / counted : NAN);
}
