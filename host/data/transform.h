/* transform.h -- per-sample image transforms, each applied with probability p.
 *
 * A sample's image is (C,H,W) floats. Step k of the list draws its coin and
 * parameters from cvl_data_hash(seed, epoch, index, stream = k*16 + j), so a
 * sample's augmentation depends only on (seed, epoch, index). */
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
} cvl_tf_kind;

#define CVL_TF_MAX_CH 4

typedef struct cvl_transform {
    cvl_tf_kind kind;
    float p;               /* probability the step applies */
    float mean[CVL_TF_MAX_CH], std[CVL_TF_MAX_CH];
    int mean_auto;         /* normalize: compute mean/std from training data */
    int pad;               /* random_crop: zero padding each side before the crop */
    float max_frac;        /* translate: fraction of H/W; cutout: side fraction */
    float degrees;         /* rotate: +- degrees */
    float scale_lo, scale_hi;
    float brightness, contrast; /* +- deltas */
} cvl_transform;

/* img is (c,h,w), tmp has c*h*w floats of scratch. */
void cvl_transform_apply(float *img, float *tmp, const cvl_transform *tf, int n_tf, int64_t c, int64_t h, int64_t w,
                         uint64_t seed, uint64_t epoch, uint64_t index);

const char *cvl_transform_name(cvl_tf_kind k);

#endif
