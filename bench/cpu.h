/* cpu.h -- the CPU time this process used so far (user + system), for the benchmarks
 * that report work per CPU-second. */
#ifndef CAIRN_BENCH_CPU_H
#define CAIRN_BENCH_CPU_H

#include <sys/resource.h>

static inline double bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

#endif
