/* CLOCK_MONOTONIC in seconds, where the platform has it (the clock asyncio's loop.time() reads on
 * Linux and macOS). Returns -1 where it does not (Windows); callers then use the Python clock. */
#ifndef IPV8FAST_MONOTONIC_H
#define IPV8FAST_MONOTONIC_H

#if defined(_WIN32)
static inline double ipv8fast_monotonic(void) { return -1.0; }
#else
#include <time.h>
static inline double ipv8fast_monotonic(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return -1.0;
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif

#endif
