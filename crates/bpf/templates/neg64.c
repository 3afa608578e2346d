#include "bpf.h"
/* neg dst */
UNARY(-DST)
