/* cpu.h: which instruction set the fast kernels may use on this machine.
 *
 * onnxc is built without -march=native, so one binary runs on any x86-64
 * (and on other architectures with the generic path only). Kernels that
 * need wider vectors live in separate source files compiled with per-file
 * ISA flags, and are called only when oc_cpu_isa() says the CPU *and the
 * operating system* support them: AVX2 needs the AVX and FMA CPUID bits
 * plus the SSE/AVX register state enabled in XCR0; AVX-512 (F, DQ, BW, VL)
 * also needs the opmask and upper-ZMM state (XCR0 bits 5-7), which an OS
 * or hypervisor may leave off even when CPUID lists the instructions.
 *
 * The environment variable ONNXC_ISA=generic|avx2|avx512, read once, caps
 * the choice (for tests and comparisons); it can never raise it above
 * what was detected. oc_cpu_set_isa does the same from code. */
#ifndef ONNXC_CPU_H
#define ONNXC_CPU_H

typedef enum { OC_ISA_GENERIC = 0, OC_ISA_AVX2 = 1, OC_ISA_AVX512 = 2 } oc_isa;

/* The ISA in force: the best the machine supports, capped by ONNXC_ISA
 * and by oc_cpu_set_isa. Thread-safe; detection runs once. */
oc_isa oc_cpu_isa(void);

/* The best ISA the CPU and OS support, ignoring any cap. */
oc_isa oc_cpu_isa_detected(void);

/* Sets the ISA in force to min(isa, detected) and returns it. Meant for
 * tests and benchmarks that compare paths in one process; kernels running
 * concurrently on other threads may see either value. */
oc_isa oc_cpu_set_isa(oc_isa isa);

/* "generic", "avx2", "avx512". */
const char *oc_isa_name(oc_isa isa);

#endif
