/* Signature shared by the builder tests' templates. */
#define PATCHJIT_PARAMS int64_t *sp, int64_t acc
#define PATCHJIT_ARGS sp, acc
#include "patchjit.h"
