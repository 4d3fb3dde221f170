/* metrics_log.h -- metrics.jsonl: one JSON object per line, appended as a
 * run goes, so a crash loses nothing already logged.
 *
 * THE FORMAT (JSON Lines, UTF-8, one record per line, '\n' after each)
 *
 *   {"step":120,"epoch":0,"time":1764000000.123,"split":"train","loss":0.4132,"lr":0.01}
 *
 *   step    int     optimizer steps taken so far (the x of the train curves)
 *   epoch   int     the epoch the record belongs to (the trainer counts from 1)
 *   time    number  wall clock, seconds since 1970 (UTC), to the millisecond
 *   ...     the caller's fields, in the order given: numbers, integers or
 *           strings. The train loop writes "split" ("train" or "val") and
 *           "loss", "accuracy", "lr", ... (docs/outputs.md lists them).
 *
 * Numbers are written in the shortest form that reads back to the same
 * double. JSON has no NaN or infinity, so those are written as the strings
 * "NaN", "Infinity" and "-Infinity" (Python's float() reads them). Keys and
 * strings must be UTF-8; "step", "epoch" and "time" are reserved.
 *
 * Each record goes to the file in one write(2) on a descriptor opened with
 * O_APPEND, straight to the kernel (no stdio buffer), so a crash of the
 * process never loses a logged line or leaves half of one; if the write
 * fails part way (disk full), the partial line is cut off again. Opening an
 * existing log appends to it (a resumed run), first ending a torn last line
 * with '\n' so the next record starts on a line of its own. fsync happens
 * on close, not per line (a power cut may lose the last lines).
 *
 *   cvl_metrics_log *m;
 *   cvl_metrics_open(&m, "runs/x/metrics.jsonl", &e);
 *   cvl_metric_field f[] = {CVL_METRIC_STR("split", "train"), CVL_METRIC_NUM("loss", loss)};
 *   cvl_metrics_write(m, step, epoch, f, 2, &e);
 *   cvl_metrics_close(m);
 */
#ifndef CVL_IO_METRICS_LOG_H
#define CVL_IO_METRICS_LOG_H

#include <stdint.h>

#include "util/err.h"

typedef enum cvl_metric_kind {
    CVL_METRIC_KIND_NUM, /* double */
    CVL_METRIC_KIND_INT, /* int64 */
    CVL_METRIC_KIND_STR, /* UTF-8 string */
} cvl_metric_kind;

typedef struct cvl_metric_field {
    const char *key;
    cvl_metric_kind kind;
    double num;
    int64_t i;
    const char *str;
} cvl_metric_field;

#define CVL_METRIC_NUM(k, v) ((cvl_metric_field){.key = (k), .kind = CVL_METRIC_KIND_NUM, .num = (v)})
#define CVL_METRIC_INT(k, v) ((cvl_metric_field){.key = (k), .kind = CVL_METRIC_KIND_INT, .i = (v)})
#define CVL_METRIC_STR(k, v) ((cvl_metric_field){.key = (k), .kind = CVL_METRIC_KIND_STR, .str = (v)})

typedef struct cvl_metrics_log cvl_metrics_log;

/* Opens `path` for appending, creating it (mode 0666 & ~umask) if needed. */
cvl_status cvl_metrics_open(cvl_metrics_log **out, const char *path, cvl_err *e);

/* Appends one record. Refuses a reserved, repeated or non-UTF-8 key and a
 * non-UTF-8 string, writing nothing. */
cvl_status cvl_metrics_write(cvl_metrics_log *m, int64_t step, int64_t epoch, const cvl_metric_field *fields,
                             int32_t n_fields, cvl_err *e);

/* fsyncs and closes (NULL is fine). */
void cvl_metrics_close(cvl_metrics_log *m);

/* The shortest decimal form of v that strtod reads back to v exactly;
 * "NaN", "Infinity", "-Infinity" for the rest. `buf` has 32 bytes. */
const char *cvl_format_double(char buf[32], double v);

#endif
