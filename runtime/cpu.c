/* cpu.c: see cpu.h. Detection reads CPUID leaves 1 and 7 and the XCR0
 * register (xgetbv) directly, so the OS-support check is explicit:
 *
 *   AVX2   = CPUID.1:ECX.{OSXSAVE, AVX, FMA} and CPUID.7.0:EBX.AVX2,
 *            XCR0 bits 1-2 (XMM, YMM state) set;
 *   AVX512 = AVX2 and CPUID.7.0:EBX.{AVX512F, DQ, BW, VL},
 *            XCR0 bits 5-7 (opmask, ZMM_Hi256, Hi16_ZMM) set as well.
 *
 * (Intel SDM vol. 1, 13.3 and 15.2, "Detection of AVX-512 instructions".)
 * The only state is the ISA in force, an atomic set once from detection
 * and ONNXC_ISA (pthread_once), lowered by oc_cpu_set_isa. */
#include "cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static oc_isa detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return OC_ISA_GENERIC;
    const unsigned osxsave = 1u << 27, avx = 1u << 28, fma = 1u << 12;
    if ((c & (osxsave | avx | fma)) != (osxsave | avx | fma))
        return OC_ISA_GENERIC;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6)
        return OC_ISA_GENERIC;
    if (__get_cpuid_max(0, NULL) < 7)
        return OC_ISA_GENERIC;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & (1u << 5))) /* AVX2 */
        return OC_ISA_GENERIC;
    const unsigned f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    if ((b & (f | dq | bw | vl)) == (f | dq | bw | vl) && (xcr0 & 0xe0) == 0xe0)
        return OC_ISA_AVX512;
    return OC_ISA_AVX2;
}
#else
static oc_isa detect(void) { return OC_ISA_GENERIC; }
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static oc_isa detected;
static atomic_int in_force;

static void init(void)
{
    detected = detect();
    oc_isa isa = detected;
    const char *env = getenv("ONNXC_ISA");
    if (env && *env) {
        oc_isa want = isa;
        if (!strcmp(env, "generic"))
            want = OC_ISA_GENERIC;
        else if (!strcmp(env, "avx2"))
            want = OC_ISA_AVX2;
        else if (!strcmp(env, "avx512"))
            want = OC_ISA_AVX512;
        if (want < isa)
            isa = want;
    }
    atomic_store(&in_force, (int)isa);
}

oc_isa oc_cpu_isa_detected(void)
{
    pthread_once(&once, init);
    return detected;
}

oc_isa oc_cpu_isa(void)
{
    pthread_once(&once, init);
    return (oc_isa)atomic_load_explicit(&in_force, memory_order_relaxed);
}

oc_isa oc_cpu_set_isa(oc_isa isa)
{
    pthread_once(&once, init);
    if (isa > detected)
        isa = detected;
    if (isa < OC_ISA_GENERIC)
        isa = OC_ISA_GENERIC;
    atomic_store(&in_force, (int)isa);
    return isa;
}

const char *oc_isa_name(oc_isa isa)
{
    switch (isa) {
    case OC_ISA_AVX512:
        return "avx512";
    case OC_ISA_AVX2:
        return "avx2";
    default:
        return "generic";
    }
}
