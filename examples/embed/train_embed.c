/* train_embed.c -- the cvlization pipeline from a C program, through the
 * public header alone:
 *
 *   cc $(pkg-config --cflags cvl) train_embed.c $(pkg-config --libs cvl) -o train_embed
 *   ./train_embed examples/fashion_mnist/cnn.json epochs=1 train_steps_per_epoch=100
 *
 * Trains the config (with any key=value overrides), then evaluates the run's
 * best checkpoint on the test split and prints both summaries. */
#include <stdio.h>
#include <stdlib.h>

#include <cvl/cvl.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG.json [key=value]...\n", argv[0]);
        return 2;
    }
    char err[1024];
    cvl_lib *lib = cvl_lib_open(NULL, 0, err, sizeof err);
    if (lib == NULL) {
        fprintf(stderr, "train_embed: %s\n", err);
        return 1;
    }
    cvl_run_options opt = {.threads = -1, .quiet = 1};
    cvl_run_summary sum;
    int rc = cvl_lib_train(lib, argv[1], (const char *const *)argv + 2, argc - 2, &opt, &sum, err, sizeof err);
    if (rc == 0) {
        printf("trained %lld steps in %.1f s (%.0f samples/s): loss %.4f, test metric %.4f, run %s\n", sum.steps,
               sum.train_seconds, sum.samples_per_s, sum.last_loss, sum.test_metric, sum.run_dir);
        char *json = NULL;
        rc = cvl_lib_eval(lib, sum.run_dir, NULL, &opt, &json, err, sizeof err);
        if (rc == 0) printf("eval: %s\n", json);
        cvl_lib_free(json);
    }
    if (rc != 0) fprintf(stderr, "train_embed: %s\n", err);
    cvl_lib_close(lib);
    return rc == 0 ? 0 : 1;
}
