/* safetensors.h -- read and write safetensors files (checkpoints, fixtures).
 *
 * THE FORMAT (huggingface/safetensors, the subset we read and write)
 *
 *   bytes [0, 8)        N, unsigned 64-bit little-endian: the header length
 *   bytes [8, 8+N)      the header: UTF-8 JSON, one object, may end in spaces
 *   bytes [8+N, EOF)    the byte buffer: every tensor's data, back to back
 *
 *   header = { "<tensor name>": { "dtype": "F32",
 *                                 "shape": [2, 3],            // [] is a scalar
 *                                 "data_offsets": [begin, end] },
 *              ...,
 *              "__metadata__": { "<key>": "<string value>", ... } }   // optional
 *
 * Offsets are byte offsets from the start of the buffer; data is row-major
 * ("C" order), little-endian. dtypes and their sizes in bytes: BOOL U8 I8
 * F8_E4M3 F8_E5M2 F8_E8M0 (1), I16 U16 F16 BF16 (2), I32 U32 F32 (4), I64 U64
 * F64 C64 (8). Sub-byte dtypes (F4, F6_*) are refused as unknown.
 *
 * THE READER treats the file as hostile. It refuses, with one line naming the
 * file and the tensor or key: a file shorter than 8 bytes; a header length
 * past the end of the file or above CVL_ST_MAX_HEADER; a header that is not
 * JSON, not UTF-8, not an object or does not start with '{'; duplicate names;
 * an entry that is not an object; "dtype" missing, not a string or unknown;
 * "shape" missing or not an array of integers >= 0; a shape whose element or
 * byte count overflows; "data_offsets" missing or not two integers >= 0;
 * begin > end; end past the buffer; a span whose length differs from
 * shape x dtype size; two spans that overlap; bytes of the buffer that no
 * tensor covers (the spec requires the buffer be covered exactly, so a file
 * cannot smuggle data); "__metadata__" not an object of strings. A name may
 * not be "__metadata__" itself, and unknown fields inside an entry are
 * ignored, as the reference implementation does.
 *
 * Tensor data is returned as pointers into the file (mmap'ed read-only) or
 * into the caller's buffer: valid until cvl_st_close. The buffer starts
 * 8-byte aligned within the file, but a tensor inside it may not be aligned
 * for its dtype (a file from another writer may put a U8 tensor first), so
 * read elements with memcpy or cvl_st_to_f32.
 *
 * THE WRITER collects tensors (name, dtype, shape, borrowed data) and string
 * metadata, and writes them through atomic_file (old file intact on error).
 * Output is deterministic: tensors are laid out by dtype size, largest first,
 * then by name (so every tensor is aligned to its element size, as the
 * reference writer does), the header lists names sorted, and is padded with
 * spaces to a multiple of 8 bytes.
 *
 *   cvl_st_writer *w = cvl_st_writer_new();
 *   cvl_st_writer_add(w, "fc.weight", CVL_ST_F32, 2, (int64_t[]){10, 784}, ptr);
 *   cvl_st_writer_meta(w, "step", "1200");
 *   cvl_status st = cvl_st_writer_save(w, "runs/x/checkpoints/last.safetensors", &e);
 *   cvl_st_writer_free(w);
 *
 *   cvl_st_file *f;
 *   if (cvl_st_open(&f, path, &e) != CVL_OK) return e.status;
 *   const cvl_st_tensor *t = cvl_st_find(f, "fc.weight");   // NULL if absent
 *   const char *step = cvl_st_meta(f, "step");              // NULL if absent
 *   cvl_st_close(f);
 */
#ifndef CVL_IO_SAFETENSORS_H
#define CVL_IO_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CVL_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* as the reference reader */

typedef enum cvl_st_dtype {
    CVL_ST_BOOL,
    CVL_ST_U8,
    CVL_ST_I8,
    CVL_ST_F8_E4M3,
    CVL_ST_F8_E5M2,
    CVL_ST_F8_E8M0,
    CVL_ST_I16,
    CVL_ST_U16,
    CVL_ST_F16,
    CVL_ST_BF16,
    CVL_ST_I32,
    CVL_ST_U32,
    CVL_ST_F32,
    CVL_ST_I64,
    CVL_ST_U64,
    CVL_ST_F64,
    CVL_ST_C64,
    CVL_ST_DTYPE_COUNT
} cvl_st_dtype;

/* "F32" for CVL_ST_F32. */
const char *cvl_st_dtype_name(cvl_st_dtype dt);
/* Bytes per element. */
size_t cvl_st_dtype_size(cvl_st_dtype dt);
/* The dtype named `name`, or false when there is none. */
bool cvl_st_dtype_parse(cvl_st_dtype *out, const char *name);

typedef struct cvl_st_tensor {
    const char *name;
    cvl_st_dtype dtype;
    int32_t ndim;
    const int64_t *shape; /* ndim entries */
    int64_t numel;        /* product of shape (1 for a scalar) */
    const void *data;     /* nbytes bytes, little-endian, maybe unaligned */
    size_t nbytes;
    size_t offset; /* of the data within the byte buffer */
} cvl_st_tensor;

typedef struct cvl_st_file cvl_st_file;

/* Opens and checks `path` (mmap'ed read-only). */
cvl_status cvl_st_open(cvl_st_file **out, const char *path, cvl_err *e);

/* Checks `size` bytes at `data`, which must outlive the returned file (no
 * copy is made). `name` stands for the file in messages. */
cvl_status cvl_st_open_mem(cvl_st_file **out, const void *data, size_t size, const char *name, cvl_err *e);

void cvl_st_close(cvl_st_file *f);

/* Tensors in buffer order (by offset, then name). */
int32_t cvl_st_count(const cvl_st_file *f);
const cvl_st_tensor *cvl_st_at(const cvl_st_file *f, int32_t i);
const cvl_st_tensor *cvl_st_find(const cvl_st_file *f, const char *name);

/* __metadata__ entries in header order; cvl_st_meta is NULL when absent. */
int32_t cvl_st_meta_count(const cvl_st_file *f);
const char *cvl_st_meta_key(const cvl_st_file *f, int32_t i);
const char *cvl_st_meta_value(const cvl_st_file *f, int32_t i);
const char *cvl_st_meta(const cvl_st_file *f, const char *key);

/* Converts t's numel elements to float: F32 F64 F16 BF16 (exactly for the
 * 16-bit ones), the integer types and BOOL. False for the F8 types and C64. */
bool cvl_st_to_f32(float *out, const cvl_st_tensor *t);

/* Finds `name` and checks it is `dtype` with exactly `shape`; the message
 * names the file, the tensor and what differs. */
cvl_status cvl_st_expect(const cvl_st_tensor **out, const cvl_st_file *f, const char *name, cvl_st_dtype dtype,
                         int32_t ndim, const int64_t *shape, cvl_err *e);

/* ---- writer ---- */

typedef struct cvl_st_writer cvl_st_writer;

cvl_st_writer *cvl_st_writer_new(void); /* NULL when out of memory */
void cvl_st_writer_free(cvl_st_writer *w);

/* Adds a tensor. `data` (numel x dtype size bytes, host byte order, which
 * must be little-endian) is borrowed until save; name and shape are copied.
 * Refuses a duplicate name, "__metadata__", a name that is not UTF-8, a
 * negative dimension. */
cvl_status cvl_st_writer_add(cvl_st_writer *w, const char *name, cvl_st_dtype dtype, int32_t ndim,
                             const int64_t *shape, const void *data, cvl_err *e);

/* Adds (or replaces) a metadata entry; both strings are copied. */
cvl_status cvl_st_writer_meta(cvl_st_writer *w, const char *key, const char *value, cvl_err *e);

/* Writes the file atomically. */
cvl_status cvl_st_writer_save(const cvl_st_writer *w, const char *path, cvl_err *e);

/* The same bytes in memory, for tests and fuzzing: *out is malloc'ed. */
cvl_status cvl_st_writer_bytes(const cvl_st_writer *w, uint8_t **out, size_t *size, cvl_err *e);

#endif
