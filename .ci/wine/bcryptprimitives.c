/* Stand-in for Windows' bcryptprimitives.dll under wine 8 (Debian 12), which lacks it: Rust's
 * standard library imports ProcessPrng from it for random hash seeds. Built by .ci/windows with
 * MinGW and placed next to the test executables; never shipped. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) {
            return FALSE;
        }
        data += n;
        len -= n;
    }
    return TRUE;
}
