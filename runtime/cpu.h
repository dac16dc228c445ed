/* cpu.h: the instruction set onnxc's kernels use, chosen at run time. */
#ifndef ONNXC_CPU_H
#define ONNXC_CPU_H

typedef enum { OC_ISA_GENERIC, OC_ISA_AVX2, OC_ISA_AVX512 } oc_isa;

oc_isa oc_cpu_isa(void);
const char *oc_isa_name(oc_isa isa);

#endif
