/* threads.h: the process-wide threading policy. One number of threads
 * for everything: OpenBLAS uses it for its GEMMs, and onnxc's own kernels
 * receive it in oc_kargs.threads; onnxc never calls BLAS from inside its
 * own parallel regions, so the two never oversubscribe the cores. */
#ifndef ONNXC_THREADS_H
#define ONNXC_THREADS_H

/* n <= 0: all online cores. Returns the number in force. */
int oc_set_threads(int n);
int oc_get_threads(void);

#endif
