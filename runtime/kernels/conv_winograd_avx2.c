/* conv_winograd_avx2.c: the Winograd tile transforms (conv_winograd_tf.h)
 * compiled with AVX2 (CMakeLists.txt sets this file's -m flags); called
 * only when runtime/cpu.c reports AVX2 or better. */
#if defined(__x86_64__) || defined(__i386__)
#define OC_WINO_TABLE oc_wino_ukr_avx2
#include "conv_winograd_tf.h"
#endif
