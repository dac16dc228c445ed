/* cpu.c: see cpu.h (placeholder detection until the GEMM work lands). */
#include "cpu.h"

oc_isa oc_cpu_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return OC_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return OC_ISA_AVX2;
#endif
    return OC_ISA_GENERIC;
}

const char *oc_isa_name(oc_isa isa) { return isa == OC_ISA_AVX512 ? "avx512" : isa == OC_ISA_AVX2 ? "avx2" : "generic"; }
