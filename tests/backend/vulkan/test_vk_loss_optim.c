/* Losses and optimizer updates on Vulkan against the CPU backend
 * (graph_parity.h): BCE with logits (with and without pos_weight), MSE, L1,
 * Huber, cross-entropy plain, with label smoothing, and with class weights
 * and smoothing (labels include an invalid one), each forward and
 * backward; then SGD (Nesterov, weight decay, gradient clipping), Adam,
 * AdamW with amsgrad and clipping, RMSprop plain and centered with
 * momentum, five steps each with the learning rate changing every step
 * (read from the scalar buffer, so nothing re-records) and Adam's bias
 * correction reading the step from there. Bound: max |vk - cpu| over
 * max |cpu| <= 1e-5 for the losses and their gradients and for the
 * parameters after five updates. Then again with 512-byte storage windows,
 * so the elementwise losses and the updates run split and cross-entropy's
 * logits go in ranges of rows (43x13: five ranges chaining their sums); a
 * row wider than a window is refused in one line. Validation on. */
#include "graph_parity.h"

static cvl_tensor *target(cvl_graph *g, int64_t a, int64_t b) {
    int64_t shape[2] = {a, b};
    return cvl_input(g, "target", CVL_DTYPE_F32, 2, shape);
}
static cvl_tensor *pred(cvl_graph *g) { return gp_param(g, "pred", 2, 9, 31, 0, 0); }
static cvl_tensor *l_bce(cvl_graph *g) { return cvl_loss(g, CVL_OP_BCE_LOGITS, pred(g), target(g, 9, 31), NULL, 0); }
static cvl_tensor *l_bce_pw(cvl_graph *g) { return cvl_loss(g, CVL_OP_BCE_LOGITS, pred(g), target(g, 9, 31), NULL, 2.0); }
static cvl_tensor *l_mse(cvl_graph *g) { return cvl_loss(g, CVL_OP_MSE, pred(g), target(g, 9, 31), NULL, 0); }
static cvl_tensor *l_l1(cvl_graph *g) { return cvl_loss(g, CVL_OP_L1, pred(g), target(g, 9, 31), NULL, 0); }
static cvl_tensor *l_huber(cvl_graph *g) { return cvl_loss(g, CVL_OP_HUBER, pred(g), target(g, 9, 31), NULL, 0.5); }

static cvl_tensor *labels(cvl_graph *g, int64_t n) { return cvl_input(g, "labels", CVL_DTYPE_I32, 1, &n); }
static cvl_tensor *l_ce(cvl_graph *g) { return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 7, 13, 0, 0), labels(g, 7), NULL, 0); }
static cvl_tensor *l_ce_smooth(cvl_graph *g) {
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 7, 13, 0, 0), labels(g, 7), NULL, 0.1);
}
static cvl_tensor *l_ce_weighted(cvl_graph *g) {
    int64_t C = 13;
    cvl_tensor *w = gp_const(g, 1, &C, 5, 0.2f, 2.0f);
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 7, 13, 0, 0), labels(g, 7), w, 0.2);
}
static cvl_tensor *l_ce_round(cvl_graph *g) {
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 16, 10, 0, 0), labels(g, 16), NULL, 0);
}
/* 43 rows of 13: 512-byte windows hold 9 rows, so the sums chain through 5 ranges. */
static cvl_tensor *l_ce_tall(cvl_graph *g) {
    int64_t C = 13;
    cvl_tensor *w = gp_const(g, 1, &C, 6, 0.5f, 1.5f);
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 43, 13, 0, 0), labels(g, 43), w, 0.1);
}
/* 6000 rows of 1000: one workgroup's lanes would loop past llvmpipe's
 * 65535 iterations; a software device takes the rows in ranges. */
static cvl_tensor *l_ce_long(cvl_graph *g) {
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 6000, 1000, 0, 0), labels(g, 6000), NULL, 0.1);
}
/* Rows of 200 logits: wider than a 512-byte window. */
static cvl_tensor *l_ce_wide(cvl_graph *g) {
    return cvl_loss(g, CVL_OP_CROSS_ENTROPY, gp_param(g, "z", 2, 2, 200, 0, 0), labels(g, 2), NULL, 0);
}

/* Two parameters whose gradients depend on each other (no saturating
 * activation: tanh' = 1 - tanh^2 cancels catastrophically where RMSprop's
 * large steps take the weights, and would measure tanh, not the update). */
static cvl_tensor *model(cvl_graph *g) {
    cvl_tensor *w = gp_param(g, "w", 2, 9, 31, 0, 0), *v = gp_param(g, "v", 1, 31, 0, 0, 0);
    return cvl_binary(g, CVL_OP_MUL, w, v);
}

static const cvl_optim_spec sgd = {.kind = CVL_OPK_SGD, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = true, .clip_grad_norm = 0.5};
static const cvl_optim_spec sgd_damp = {.kind = CVL_OPK_SGD, .momentum = 0.8, .dampening = 0.3};
static const cvl_optim_spec adam = {.kind = CVL_OPK_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
static const cvl_optim_spec adamw = {.kind = CVL_OPK_ADAM, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05,
                                     .decoupled = true, .amsgrad = true, .clip_grad_norm = 1.0};
static const cvl_optim_spec rms = {.kind = CVL_OPK_RMSPROP, .alpha = 0.99, .eps = 1e-8};
static const cvl_optim_spec rms_c = {.kind = CVL_OPK_RMSPROP, .alpha = 0.9, .eps = 1e-6, .momentum = 0.9, .weight_decay = 1e-4,
                                     .centered = true, .clip_grad_norm = 2.0};

static const gp_case cases[] = {
    {.name = "bce_logits 9x31", .build = l_bce, .tol = 1e-5},
    {.name = "bce_logits pos_weight 2", .build = l_bce_pw, .tol = 1e-5},
    {.name = "mse 9x31", .build = l_mse, .tol = 1e-5},
    {.name = "l1 9x31", .build = l_l1, .tol = 1e-5},
    {.name = "huber delta 0.5", .build = l_huber, .tol = 1e-5},
    {.name = "cross_entropy 7x13", .build = l_ce, .tol = 1e-5, .int_range = 13},
    {.name = "cross_entropy smoothing 0.1", .build = l_ce_smooth, .tol = 1e-5, .int_range = 13},
    {.name = "cross_entropy weights + smoothing 0.2", .build = l_ce_weighted, .tol = 1e-5, .int_range = 13},
    {.name = "cross_entropy 16x10", .build = l_ce_round, .tol = 1e-5, .int_range = 9},
    {.name = "cross_entropy 43x13 weights + smoothing 0.1", .build = l_ce_tall, .tol = 1e-5, .int_range = 13},
    {.name = "cross_entropy 6000x1000 smoothing 0.1", .build = l_ce_long, .tol = 1e-5, .int_range = 1000},
    {.name = "sgd nesterov wd clip", .build = model, .tol = 1e-5, .optim = &sgd, .steps = 5},
    {.name = "sgd dampening", .build = model, .tol = 1e-5, .optim = &sgd_damp, .steps = 5},
    {.name = "adam wd", .build = model, .tol = 1e-5, .optim = &adam, .steps = 5},
    {.name = "adamw amsgrad clip", .build = model, .tol = 1e-5, .optim = &adamw, .steps = 5},
    {.name = "rmsprop", .build = model, .tol = 1e-5, .optim = &rms, .steps = 5},
    {.name = "rmsprop centered momentum wd clip", .build = model, .tol = 1e-5, .optim = &rms_c, .steps = 5},
};
#define N_CASES (sizeof cases / sizeof cases[0])

int main(void) {
    cvl_vk_device *dev = vk_test_device(NULL);
    if (dev == NULL) return vk_test_finish();
    for (size_t i = 0; i < N_CASES; i++) gp_run(dev, &cases[i], "");
    cvl_vk_device_free(dev);
    cvl_vk_device_opts small = {.max_range = 512, .no_disk_cache = true};
    dev = vk_test_device(&small);
    if (dev == NULL) return vk_test_finish();
    for (size_t i = 0; i < N_CASES; i++)
        if (cases[i].build != l_ce_long) gp_run(dev, &cases[i], " (512-byte windows)");
    gp_case wide = {.name = "cross_entropy 2x200 in 512-byte windows", .build = l_ce_wide, .int_range = 200};
    gp_refused(dev, &wide, "cross_entropy 2x200 smoothing 0: a row of 200 logits exceeds one storage window");
    cvl_vk_device_free(dev);
    return vk_test_finish();
}
