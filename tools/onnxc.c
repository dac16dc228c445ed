/* onnxc.c: the onnxc command-line program; dispatches to one file per
 * subcommand (cmd_*.c). Exit status: 0 success, 1 failure, 2 bad usage.
 * Under mpirun every rank joins the job before its command runs and a
 * failed rank ends the job after it (tools/dist.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dist.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"info", oc_cmd_info, "layer table, parameters and FLOPs of a model"},
    {"run", oc_cmd_run, "run a model on inputs (.pb, .npy or images) and write its outputs"},
    {"bench", oc_cmd_bench, "time a compiled model: latency, throughput, memory, per-layer profile"},
    {"compile", oc_cmd_compile, "generate C for a model: API header, straight-line code, weights, harness, build files"},
    {"check", oc_cmd_check, "run test cases in the ONNX backend-test layout and compare outputs"},
    {"train", oc_cmd_train, "train one of onnxc's own networks from scratch on a data set"},
    {"finetune", oc_cmd_finetune, "replace a model's classifier head and train it (or more) on an image folder"},
    {"grad", oc_cmd_grad, "loss and the gradient of every parameter for one batch (autodiff)"},
    {"export", oc_cmd_export, "write one of onnxc's own networks (LeNet-5, MLP, VGG, ResNet) as ONNX"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: onnxc COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'onnxc COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            /* under mpirun every rank joins here (tools/dist.h) */
            int rc = cli_dist_init(argc, argv);
            if (rc)
                return cli_dist_finish(rc);
            return cli_dist_finish(commands[i].run(argc - 1, argv + 1));
        }
    fprintf(stderr, "onnxc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
