/* conv_winograd_avx512.c: the Winograd tile transforms (conv_winograd_tf.h)
 * compiled with AVX-512 (CMakeLists.txt sets this file's -m flags); called
 * only when runtime/cpu.c reports AVX-512. */
#if defined(__x86_64__) || defined(__i386__)
#define OC_WINO_TABLE oc_wino_ukr_avx512
#include "conv_winograd_tf.h"
#endif
