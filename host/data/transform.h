/* transform.h -- per-sample image transforms, each applied with probability p.
 *
 * A sample's image is (C,H,W) floats. Step k of the list draws its coin and
 * parameters from cvl_data_hash(seed, epoch, index, stream = k*16 + j), so a
 * sample's augmentation depends only on (seed, epoch, index).
 *
 * Deterministic steps (normalize, pad, resize, center_crop, each with p 1)
 * run on every split; random steps (random_crop, flips, translate, rotate,
 * scale, brightness_contrast, cutout, and any step with p < 1) run on
 * training batches only. Random steps keep the shape; pad, resize and
 * center_crop change it and always apply (the config refuses p < 1 for
 * them), so the output shape is the same for training and evaluation. */
#ifndef CVL_DATA_TRANSFORM_H
#define CVL_DATA_TRANSFORM_H

#include <stdint.h>

#include "data/dataset.h"

typedef enum cvl_tf_kind {
    CVL_TF_NORMALIZE,
    CVL_TF_RANDOM_CROP,
    CVL_TF_HFLIP,
    CVL_TF_VFLIP,
    CVL_TF_TRANSLATE,
    CVL_TF_ROTATE,
    CVL_TF_SCALE,
    CVL_TF_BRIGHTNESS_CONTRAST,
    CVL_TF_CUTOUT,
    CVL_TF_PAD,
    CVL_TF_RESIZE,
    CVL_TF_CENTER_CROP,
} cvl_tf_kind;

#define CVL_TF_MAX_CH 4

typedef struct cvl_transform {
    cvl_tf_kind kind;
    float p;               /* probability the step applies */
    float mean[CVL_TF_MAX_CH], std[CVL_TF_MAX_CH];
    int n_mean, n_std;     /* values given (1: every channel); checked against C when the data opens */
    int mean_auto;         /* normalize: compute mean/std from training data */
    int pad;               /* random_crop: zero padding each side before the crop */
    int pads[4];           /* pad: zeros added at top, bottom, left, right */
    int64_t size[2];       /* resize, center_crop: output (H,W) */
    float max_frac;        /* translate: fraction of H/W; cutout: side fraction */
    float degrees;         /* rotate: +- degrees */
    float scale_lo, scale_hi;
    float brightness, contrast; /* +- deltas */
} cvl_transform;

/* Random steps run on training batches only. */
int cvl_transform_is_random(const cvl_transform *t);
/* pad, resize, center_crop. */
int cvl_transform_changes_shape(const cvl_transform *t);

/* The (C,H,W) after the steps, from in; *max_elems (may be NULL) gets the
 * largest c*h*w along the way (what apply's buffers must hold). Fails when
 * a center_crop is larger than its input or a shape comes out empty; the
 * message starts "transforms[k]: " and the caller prefixes the file. */
cvl_status cvl_transform_shape(int64_t out[3], int64_t *max_elems, const cvl_transform *tf, int n_tf,
                               const int64_t in[3], cvl_err *e);

/* Runs the steps on img (random ones only when `training`). shape is the
 * image's (C,H,W) on entry and on return; img and tmp must each hold
 * max_elems floats (cvl_transform_shape). */
void cvl_transform_apply(float *img, float *tmp, const cvl_transform *tf, int n_tf, int64_t shape[3], int training,
                         uint64_t seed, uint64_t epoch, uint64_t index);

/* Bilinear resize with half-pixel centres (edges replicated), (c,h,w) ->
 * (c,H,W); the same sampling as the folder reader's decode. */
void cvl_resize_bilinear(float *out, const float *in, int64_t c, int64_t h, int64_t w, int64_t H, int64_t W);

const char *cvl_transform_name(cvl_tf_kind k);

#endif
