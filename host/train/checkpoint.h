/* checkpoint.h -- a model's state as safetensors, both ways.
 *
 * A checkpoint holds every parameter and buffer of a training graph under
 * its PyTorch state_dict name (conv1.weight, bn1.running_mean, ...), the
 * optimizer state under "optim.<param>.<what>" (momentum_buffer, exp_avg,
 * ...), and in the metadata: the format ("cvl"), the resolved config
 * (JSON), where training stood (step, epoch, batch within the epoch) and the
 * seed -- all the randomness of a run is a function of the seed and those
 * counters, so this is the RNG state -- plus the best validation metric so
 * far. Files are written atomically (temporary file, fsync, rename).
 *
 * Loading checks the file as hostile (io/safetensors.h) and then against the
 * graph: every tensor the graph needs must be there with its dtype and
 * shape, and (for weights) a tensor the model does not have is an error too;
 * each message names the file and the tensor. A PyTorch 0-d
 * num_batches_tracked loads into our (1) buffer. */
#ifndef CVL_TRAIN_CHECKPOINT_H
#define CVL_TRAIN_CHECKPOINT_H

#include <jansson.h>

#include "core/backend.h"
#include "core/graph.h"

typedef struct cvl_ckpt_state {
    int64_t step;  /* optimizer steps done */
    int64_t epoch; /* the epoch in progress (1-based) */
    int64_t batch; /* batches of that epoch done */
    uint64_t seed;
    double best;            /* best value of the checkpoint metric so far (NaN: none) */
    int64_t since_best;     /* validations since it (early stopping) */
} cvl_ckpt_state;

/* Writes every PARAM and BUFFER of g (optimizer state too when
 * `with_optimizer`) as read from `be`; `state` and `config` (may be NULL)
 * go in the metadata. */
cvl_status cvl_ckpt_save(const char *path, cvl_backend *be, const cvl_graph *g, bool with_optimizer,
                         const cvl_ckpt_state *state, const json_t *config, cvl_err *e);

/* What to load. */
typedef enum cvl_ckpt_mode {
    CVL_CKPT_WEIGHTS, /* parameters and model buffers; optimizer state in the file is ignored */
    CVL_CKPT_RESUME,  /* everything the graph has, optimizer state included, and `state` */
} cvl_ckpt_mode;

/* Loads `path` into `be` for graph g. `map` (a JSON object or NULL) renames
 * the file's tensors: a name starting with a key gets that prefix replaced
 * by the key's value ("fc." -> "head.fc."); the longest matching key wins.
 * `state` (may be NULL) receives the metadata's counters; `config_out`
 * (may be NULL) the resolved config stored in the file (a new reference,
 * NULL when the file has none). */
cvl_status cvl_ckpt_load(const char *path, cvl_backend *be, const cvl_graph *g, cvl_ckpt_mode mode, const json_t *map,
                         cvl_ckpt_state *state, json_t **config_out, cvl_err *e);

/* The resolved config stored in a checkpoint (NULL with e set when absent). */
json_t *cvl_ckpt_config(const char *path, cvl_err *e);

#endif
