#include "bpf.h"
/* le64 dst (the host is little-endian: nothing changes) */
UNARY(DST)
