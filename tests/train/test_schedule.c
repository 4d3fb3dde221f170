/* Learning-rate schedules: values at chosen steps against the formulas
 * (torch.optim.lr_scheduler's StepLR and CosineAnnealingLR for step and
 * cosine; linear warm-up), and config errors for bad schedule keys. */
#include <math.h>
#include <stdio.h>

#include "harness.h"
#include "train/config.h"
#include "train/train.h"

static cvl_config make(const char *json) {
    cvl_config c;
    cvl_err e = {0};
    json_t *j = json_loads(json, 0, NULL);
    cvl_config_from_json(&c, j, "test.json", NULL, 0, &e);
    if (e.status) printf("# %s\n", e.msg);
    json_decref(j);
    return c;
}

int main(void) {
    cvl_config c = make("{\"lr\": 0.1}");
    CHECK(cvl_lr_at(&c, 1, 100) == 0.1 && cvl_lr_at(&c, 100, 100) == 0.1, "constant");
    cvl_config_free(&c);

    c = make("{\"lr\": 0.1, \"lr_schedule\": {\"name\": \"step\", \"step_size\": 30, \"gamma\": 0.5}}");
    // StepLR: lr * gamma^(floor(epoch / step_size)) with epoch = t - 1
    CHECK_NEAR(cvl_lr_at(&c, 30, 100), 0.1, 1e-12, "step: step 30 still at lr");
    CHECK_NEAR(cvl_lr_at(&c, 31, 100), 0.05, 1e-12, "step: step 31 halved");
    CHECK_NEAR(cvl_lr_at(&c, 91, 100), 0.0125, 1e-12, "step: step 91 at lr/8");
    cvl_config_free(&c);

    c = make("{\"lr\": 0.2, \"lr_schedule\": {\"name\": \"cosine\", \"min_lr\": 0.01}}");
    // CosineAnnealingLR with T_max = total: eta_min + (lr - eta_min)(1 + cos(pi t / T))/2
    double want = 0.01 + 0.19 * (1 + cos(M_PI * 25.0 / 100.0)) / 2;
    CHECK_NEAR(cvl_lr_at(&c, 26, 101), want, 1e-12, "cosine at a quarter");
    CHECK_NEAR(cvl_lr_at(&c, 1, 101), 0.2, 1e-12, "cosine starts at lr");
    CHECK_NEAR(cvl_lr_at(&c, 101, 101), 0.01, 1e-12, "cosine ends at min_lr");
    cvl_config_free(&c);

    c = make("{\"lr\": 0.1, \"lr_schedule\": {\"name\": \"cosine\", \"warmup_steps\": 10}}");
    CHECK_NEAR(cvl_lr_at(&c, 5, 110), 0.05, 1e-12, "warm-up: half way at half the lr");
    CHECK_NEAR(cvl_lr_at(&c, 11, 110), 0.1, 1e-12, "warm-up ends where the cosine starts");
    cvl_config_free(&c);

    c = make("{\"lr\": 0.25, \"lr_schedule\": {\"name\": \"one_cycle\"}}");
    CHECK_NEAR(cvl_lr_at(&c, 1, 1001), 0.01, 1e-12, "one_cycle starts at lr/25");
    CHECK_NEAR(cvl_lr_at(&c, 301, 1001), 0.25, 1e-12, "one_cycle peaks at 30%%");
    CHECK(cvl_lr_at(&c, 1001, 1001) < 0.25 / 1e3, "one_cycle ends near lr/1e4");
    cvl_config_free(&c);
    return tap_done();
}
