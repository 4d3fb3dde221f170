/* optimizers -- sgd, adam, adamw, rmsprop, with torch.optim's formulas and
 * defaults. The learning rate (and its schedule) belongs to the training
 * config; these take the rest of each optimizer's hyper-parameters and
 * declare the update of every trained parameter. */
#include "common.h"

static bool in01(double x) { return x >= 0 && x < 1; }

static cvl_status sgd_build(const cvl_host *h, cvl_ctx *ctx, double momentum, double dampening,
                            double weight_decay, bool nesterov) {
    if (momentum < 0) return h->fail(ctx, CVL_ERR_INVALID, "momentum must be >= 0, got %g", momentum);
    if (weight_decay < 0) return h->fail(ctx, CVL_ERR_INVALID, "weight_decay must be >= 0, got %g", weight_decay);
    if (nesterov && (momentum <= 0 || dampening != 0))
        return h->fail(ctx, CVL_ERR_INVALID, "nesterov needs momentum > 0 and dampening 0");
    return h->optim_sgd(ctx, momentum, dampening, weight_decay, nesterov);
}

static cvl_status adam_common(const cvl_host *h, cvl_ctx *ctx, double beta1, double beta2,
                              double eps, double weight_decay, bool amsgrad, bool decoupled) {
    if (!in01(beta1) || !in01(beta2))
        return h->fail(ctx, CVL_ERR_INVALID, "betas must be in [0, 1), got %g and %g", beta1, beta2);
    if (!(eps > 0)) return h->fail(ctx, CVL_ERR_INVALID, "eps must be > 0, got %g", eps);
    if (weight_decay < 0) return h->fail(ctx, CVL_ERR_INVALID, "weight_decay must be >= 0, got %g", weight_decay);
    return h->optim_adam(ctx, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
}

static cvl_status adam_build(const cvl_host *h, cvl_ctx *ctx, double beta1, double beta2,
                             double eps, double weight_decay, bool amsgrad) {
    return adam_common(h, ctx, beta1, beta2, eps, weight_decay, amsgrad, false);
}

static cvl_status adamw_build(const cvl_host *h, cvl_ctx *ctx, double beta1, double beta2,
                              double eps, double weight_decay, bool amsgrad) {
    return adam_common(h, ctx, beta1, beta2, eps, weight_decay, amsgrad, true);
}

static cvl_status rmsprop_build(const cvl_host *h, cvl_ctx *ctx, double alpha, double eps,
                                double weight_decay, double momentum, bool centered) {
    if (!in01(alpha)) return h->fail(ctx, CVL_ERR_INVALID, "alpha must be in [0, 1), got %g", alpha);
    if (!(eps > 0)) return h->fail(ctx, CVL_ERR_INVALID, "eps must be > 0, got %g", eps);
    if (weight_decay < 0 || momentum < 0)
        return h->fail(ctx, CVL_ERR_INVALID, "weight_decay and momentum must be >= 0");
    return h->optim_rmsprop(ctx, alpha, eps, weight_decay, momentum, centered);
}

static const cvl_param_desc sgd_params[] = {
    CVL_PARAM_FLOAT_DEF("momentum", "0", "momentum factor"),
    CVL_PARAM_FLOAT_DEF("dampening", "0", "dampening for momentum"),
    CVL_PARAM_FLOAT_DEF("weight_decay", "0", "L2 penalty, added to the gradient"),
    CVL_PARAM_BOOL_DEF("nesterov", "false", "Nesterov momentum"),
};
static const cvl_param_desc adam_params[] = {
    CVL_PARAM_FLOAT_DEF("beta1", "0.9", "decay of the first moment"),
    CVL_PARAM_FLOAT_DEF("beta2", "0.999", "decay of the second moment"),
    CVL_PARAM_FLOAT_DEF("eps", "1e-8", "added to the denominator"),
    CVL_PARAM_FLOAT_DEF("weight_decay", "0", "L2 penalty, added to the gradient"),
    CVL_PARAM_BOOL_DEF("amsgrad", "false", "use the AMSGrad variant"),
};
static const cvl_param_desc adamw_params[] = {
    CVL_PARAM_FLOAT_DEF("beta1", "0.9", "decay of the first moment"),
    CVL_PARAM_FLOAT_DEF("beta2", "0.999", "decay of the second moment"),
    CVL_PARAM_FLOAT_DEF("eps", "1e-8", "added to the denominator"),
    CVL_PARAM_FLOAT_DEF("weight_decay", "0.01", "decoupled weight decay"),
    CVL_PARAM_BOOL_DEF("amsgrad", "false", "use the AMSGrad variant"),
};
static const cvl_param_desc rmsprop_params[] = {
    CVL_PARAM_FLOAT_DEF("alpha", "0.99", "smoothing constant"),
    CVL_PARAM_FLOAT_DEF("eps", "1e-8", "added to the denominator"),
    CVL_PARAM_FLOAT_DEF("weight_decay", "0", "L2 penalty, added to the gradient"),
    CVL_PARAM_FLOAT_DEF("momentum", "0", "momentum factor"),
    CVL_PARAM_BOOL_DEF("centered", "false", "normalise by the estimated variance"),
};
#define V CVL_MAKE_VERSION(1, 0, 0)
CVL_COMPONENT(sgd, CVL_KIND_OPTIMIZER, "sgd", "SGD with momentum, Nesterov and weight decay (torch.optim.SGD)", V, sgd_params, sgd_build);
CVL_COMPONENT(adam, CVL_KIND_OPTIMIZER, "adam", "Adam (torch.optim.Adam)", V, adam_params, adam_build);
CVL_COMPONENT(adamw, CVL_KIND_OPTIMIZER, "adamw", "AdamW, decoupled weight decay (torch.optim.AdamW)", V, adamw_params, adamw_build);
CVL_COMPONENT(rmsprop, CVL_KIND_OPTIMIZER, "rmsprop", "RMSprop (torch.optim.RMSprop)", V, rmsprop_params, rmsprop_build);

static const cvl_component_desc *const components[] = {&sgd, &adam, &adamw, &rmsprop};
CVL_DEFINE_PLUGIN("cvl-optimizers", V, components)
