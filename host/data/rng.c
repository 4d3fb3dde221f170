#include "data/dataset.h"

/* splitmix64's finalizer: a bijective mix, so distinct counters never share
 * a state and no sequence needs to be carried between threads. */
static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t cvl_data_hash(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream) {
    return mix(mix(mix(mix(seed) ^ epoch) ^ index) ^ stream);
}

float cvl_data_uniform(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream) {
    return (float)(cvl_data_hash(seed, epoch, index, stream) >> 40) * (1.0f / 16777216.0f);
}

/* Fisher-Yates with one hash per position (stream UINT64_MAX keeps it apart
 * from the augmentation streams). */
void cvl_data_shuffle(int64_t *perm, int64_t n, uint64_t seed, uint64_t epoch) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = cvl_data_hash(seed, epoch, (uint64_t)i, UINT64_MAX);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
