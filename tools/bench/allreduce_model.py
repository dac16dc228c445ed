#!/usr/bin/env python3
"""allreduce_model.py: an estimate (not a measurement) of the data-parallel
step time of onnxc at many ranks, from a measured single-rank step time and
the ring-allreduce cost model.

A ring allreduce of S bytes over p ranks sends 2 (p - 1) / p * S bytes
through every rank's link in 2 (p - 1) steps (reduce-scatter, then
allgather), each paying one message latency alpha:

    T_allreduce(p) = 2 (p - 1) alpha + 2 (p - 1) / p * S / B

(Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms for clusters
of workstations", JPDC 2009; Thakur et al., "Optimization of collective
communication operations in MPICH", 2005). onnxc runs the allreduce after
the backward pass, over the one gradient block, without overlap, so

    T_step(p) = T_compute + T_allreduce(p)     (weak scaling: B per rank)

and "overlapped" is the bound a bucketed allreduce overlapped with the
backward pass (as DDP and Horovod do; onnxc does not yet) could reach:
max(T_compute, T_allreduce). The reduction arithmetic (S / 4 floats added
per rank, memory bound) is left out: at ~10 GB/s it is a few ms for
ResNet-18, within the rounding of the estimate.

Usage: allreduce_model.py --step SECONDS [--params 11689512] [--batch 8]
           [--gbps 25] [--alpha-us 20] [--ranks 8,64,256]
--step is the measured per-rank compute time of one training step (e.g.
`onnxc bench resnet18.onnx --train full --batch 8 --threads 1`: 832 ms on
the development machine, load average ~6 on 2 cores; the README's
*Data-parallel training* section gives the resulting table). """
import argparse

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--step", type=float, required=True, help="measured compute seconds per step and rank")
ap.add_argument("--params", type=int, default=11689512, help="gradient floats (ResNet-18: 11,689,512)")
ap.add_argument("--batch", type=int, default=8, help="samples per rank and step")
ap.add_argument("--gbps", type=float, default=25.0, help="link bandwidth, Gbit/s")
ap.add_argument("--alpha-us", type=float, default=20.0, help="per-message latency, microseconds (TCP ~20-50, RDMA ~2)")
ap.add_argument("--ranks", default="8,64,256")
a = ap.parse_args()

S = 4.0 * a.params               # bytes of the gradient block
B = a.gbps * 1e9 / 8             # bytes/s
alpha = a.alpha_us * 1e-6
print(f"ESTIMATE (ring-allreduce model, not measured): gradient {S / 1e6:.1f} MB, {a.gbps:g} Gb/s "
      f"({B / 1e9:.3f} GB/s), alpha {a.alpha_us:g} us, compute {a.step * 1e3:.1f} ms/step at batch {a.batch}/rank")
print(f"{'ranks':>6} {'allreduce ms':>13} {'(bandwidth':>11} {'latency)':>9} {'step ms':>9} {'efficiency':>10} "
      f"{'images/s':>10} {'overlapped ms':>14}")
for p in (int(x) for x in a.ranks.split(",")):
    bw = 2 * (p - 1) / p * S / B
    lat = 2 * (p - 1) * alpha
    t_ar = bw + lat
    step = a.step + t_ar
    ov = max(a.step, t_ar)
    print(f"{p:>6} {t_ar * 1e3:>13.1f} {bw * 1e3:>11.1f} {lat * 1e3:>9.2f} {step * 1e3:>9.1f} "
          f"{a.step / step:>10.1%} {p * a.batch / step:>10.0f} {ov * 1e3:>14.1f}")
