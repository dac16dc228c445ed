/* cmd_info.c: `onnxc info MODEL.onnx | --model NAME [--batch N] [--dim n=N] [--json]
 *             [--plan] [--passes [LIST]] [--no-fuse] [--no-pass NAME]`
 * A layer table in the manner of torchinfo: node, op, output shape,
 * parameters, FLOPs, then totals, opset and producer. The table describes
 * the model as written (every node; constants folded for their shapes);
 * the graph passes run afterwards, for --passes (what each pass changed)
 * and --plan (the plan of the rewritten graph). */
#include <stdio.h>
#include <string.h>

#include "../compiler/planner.h"
#include "../compiler/summary.h"
#include "cli.h"

static const char *group3(int64_t v, char *buf, size_t cap)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < cap)
        buf[o++] = '-';
    for (int i = 0; i < n && o + 1 < cap; i++) {
        buf[o++] = tmp[i];
        if ((n - 1 - i) % 3 == 0 && i != n - 1 && o + 1 < cap)
            buf[o++] = ',';
    }
    buf[o] = 0;
    return buf;
}

static void dims_str(const oc_value *v, char *buf, size_t cap)
{
    if (v->rank < 0) {
        snprintf(buf, cap, "?");
        return;
    }
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < v->rank && o < cap; i++) {
        if (v->dims[i] >= 0)
            o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)v->dims[i]);
        else
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", v->sym[i] ? v->sym[i] : "?");
    }
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

static void json_dims(FILE *f, const oc_value *v)
{
    if (v->rank < 0) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    for (int i = 0; i < v->rank; i++) {
        if (i)
            fputc(',', f);
        if (v->dims[i] >= 0)
            fprintf(f, "%lld", (long long)v->dims[i]);
        else if (v->sym[i])
            cli_json_string(f, v->sym[i]);
        else
            fputs("null", f);
    }
    fputc(']', f);
}

static void json_values(FILE *f, const oc_graph *g, const int *ids, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        const oc_value *v = &g->values[ids[i]];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        cli_json_string(f, v->name);
        fprintf(f, ",\"dtype\":\"%s\",\"shape\":", oc_dtype_name(v->dtype));
        json_dims(f, v);
        fputc('}', f);
    }
    fputc(']', f);
}

/* Everything but the closing brace (the pass report may follow). */
static void print_json(const oc_graph *g, const oc_summary *s)
{
    FILE *f = stdout;
    fputs("{\"model\":", f);
    cli_json_string(f, *g->source ? g->source : g->name);
    fputs(",\"producer\":", f);
    cli_json_string(f, g->producer);
    fprintf(f, ",\"ir_version\":%lld,\"opset\":%lld,\"inputs\":", (long long)g->ir_version, (long long)g->opset);
    json_values(f, g, g->inputs, g->n_inputs);
    fputs(",\"outputs\":", f);
    json_values(f, g, g->outputs, g->n_outputs);
    fputs(",\"nodes\":[", f);
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        cli_json_string(f, n->name);
        fputs(",\"op\":", f);
        cli_json_string(f, n->op_type);
        fprintf(f, ",\"supported\":%s,\"output_shape\":", n->op ? "true" : "false");
        if (n->n_out > 0 && n->out[0] >= 0)
            json_dims(f, &g->values[n->out[0]]);
        else
            fputs("null", f);
        fprintf(f, ",\"params\":%lld,\"state\":%lld,\"flops\":", (long long)s->nodes[i].params,
                (long long)s->nodes[i].state);
        if (s->nodes[i].macs < 0)
            fputs("null}", f);
        else
            fprintf(f, "%lld}", (long long)(2 * s->nodes[i].macs));
    }
    fprintf(f, "],\"total_params\":%lld,\"total_state\":%lld,\"total_flops\":%lld,\"total_macs\":%lld,"
               "\"flops_unknown_nodes\":%d,\"unsupported_nodes\":%d",
            (long long)s->params, (long long)s->state, (long long)(2 * s->macs), (long long)s->macs,
            s->macs_unknown, s->n_unsupported);
}

static void print_table(const oc_graph *g, const oc_summary *s)
{
    char a[64], b[64], sh[256];
    printf("model:    %s\n", *g->source ? g->source : g->name);
    printf("producer: %s   IR version %lld   opset %lld\n", *g->producer ? g->producer : "(none)",
           (long long)g->ir_version, (long long)g->opset);
    for (int i = 0; i < g->n_inputs; i++) {
        dims_str(&g->values[g->inputs[i]], sh, sizeof sh);
        printf("input:    %s %s %s\n", g->values[g->inputs[i]].name, oc_dtype_name(g->values[g->inputs[i]].dtype), sh);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        dims_str(&g->values[g->outputs[i]], sh, sizeof sh);
        printf("output:   %s %s %s\n", g->values[g->outputs[i]].name,
               oc_dtype_name(g->values[g->outputs[i]].dtype), sh);
    }
    printf("\n%-4s %-36s %-20s %-22s %14s %16s\n", "#", "node", "op", "output shape", "params", "FLOPs");
    for (int i = 0; i < g->n_nodes; i++) {
        const oc_node *n = &g->nodes[i];
        if (n->n_out > 0 && n->out[0] >= 0)
            dims_str(&g->values[n->out[0]], sh, sizeof sh);
        else
            snprintf(sh, sizeof sh, "-");
        char name[40];
        snprintf(name, sizeof name, "%s", n->name);
        if (strlen(n->name) > 36)
            snprintf(name, sizeof name, "...%s", n->name + strlen(n->name) - 33);
        printf("%-4d %-36s %-20s %-22s %14s %16s%s\n", i, name, n->op_type, sh,
               s->nodes[i].params ? group3(s->nodes[i].params, a, sizeof a) : "-",
               s->nodes[i].macs < 0 ? "?" : s->nodes[i].macs ? group3(2 * s->nodes[i].macs, b, sizeof b) : "-",
               n->op ? "" : "  (unsupported op)");
    }
    printf("\n%d nodes, %d values\n", g->n_nodes, g->n_values);
    printf("parameters: %s (%.1f MB stored)\n", group3(s->params, a, sizeof a), (double)s->param_bytes / 1e6);
    if (s->state)
        printf("state (BatchNorm running statistics): %s values\n", group3(s->state, a, sizeof a));
    printf("FLOPs:      %s (%.2f GFLOPs = 2 x %.2f GMACs of Conv/ConvTranspose/Gemm/MatMul)%s\n",
           group3(2 * s->macs, b, sizeof b), 2e-9 * (double)s->macs, 1e-9 * (double)s->macs,
           s->macs_unknown ? " (some shapes unknown: bind them with --batch/--dim)" : "");
    if (s->n_unsupported)
        printf("unsupported ops: %d node(s) use ops onnxc does not implement yet\n", s->n_unsupported);
}

int oc_cmd_info(int argc, char **argv)
{
    cli_model_args ma = {0};
    ma.batch = -1;
    int json = 0, plan = 0, show_passes = 0;
    oc_pass_opts popts;
    oc_pass_opts_default(&popts);
    for (int i = 1; i < argc; i++) {
        int r = cli_pass_arg("info", &popts, &show_passes, argc, argv, &i);
        if (!r)
            r = cli_model_arg("info", &ma, argc, argv, &i);
        if (r < 0)
            return 2;
        if (r)
            continue;
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--plan") == 0) {
            plan = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: onnxc info MODEL.onnx | --model NAME [--batch N] [--dim NAME=N] [--json] [--plan]\n"
                   "       [--max-memory BYTES[K|M|G]] [--passes [LIST]] [--no-fuse] [--no-pass NAME]\n"
                   "Prints each node's op, output shape, parameters and FLOPs, and the totals.\n"
                   "--plan also compiles the model and reports its memory plan: the arena that holds\n"
                   "all intermediate tensors (reused by liveness) next to their plain sum; it fails when\n"
                   "the plan needs more than --max-memory (default: half the physical RAM).\n"
                   "--passes lists the graph passes (on/off, description) and what each changed;\n"
                   "--passes LIST (or --passes=LIST) runs exactly those, --no-pass NAME turns one off,\n"
                   "--no-fuse turns off every rewrite (constant folding and widen stay).\n");
            return 0;
        } else {
            fprintf(stderr, "onnxc info: unknown argument '%s' (see onnxc info --help)\n", argv[i]);
            return 2;
        }
    }
    oc_graph *g = cli_load_model("info", &ma);
    if (!g)
        return 1;
    int assumed = 0;
    if (ma.batch < 0 && ma.n_dims == 0) {
        /* unbound batch dims: count FLOPs for one sample, and say so */
        for (int i = 0; i < g->n_inputs; i++)
            assumed |= g->values[g->inputs[i]].rank > 0 && g->values[g->inputs[i]].dims[0] < 0;
        if (assumed) {
            oc_graph_free(g);
            ma.batch = 1;
            if (!(g = cli_load_model("info", &ma)))
                return 1;
            if (!json)
                printf("(batch dimension unbound: batch 1 assumed; use --batch N or --dim NAME=N)\n");
        }
    }
    oc_summary s;
    oc_diag d;
    oc_diag_init(&d);
    /* the table keeps every node; folding (unless switched off) only
     * gives shapes that depend on computed constants */
    if (oc_pass_enabled(&popts, "fold") == 1 && oc_fold_constants(g, &d) < 0) {
        fprintf(stderr, "onnxc info: error: %s: %s\n", *g->source ? g->source : g->name, d.msg);
        oc_graph_free(g);
        return 1;
    }
    if (oc_summarize(g, &s, &d)) {
        fprintf(stderr, "onnxc info: error: %s\n", d.msg);
        oc_graph_free(g);
        return 1;
    }
    if (json)
        print_json(g, &s);
    else
        print_table(g, &s);
    oc_summary_free(&s);
    oc_pass_report rep = {0};
    const char *src = *g->source ? g->source : g->name;
    if ((show_passes || plan) && cli_run_passes("info", src, g, &popts, &rep)) {
        if (json)
            printf("}\n");
        oc_pass_report_free(&rep);
        oc_graph_free(g);
        return 1;
    }
    if (json) {
        if (show_passes) {
            fputs(",\"passes\":", stdout);
            cli_json_passes(stdout, &rep);
        }
        printf("}\n");
    } else if (show_passes) {
        cli_print_passes(stdout, &rep);
    }
    if (plan) {
        oc_plan_opts po = {1, 0};
        po.max_memory = ma.max_memory;
        po.views = rep.views;
        po.batch_slice = rep.batch_slice;
        oc_plan *p = oc_plan_build(g, &po, &d);
        if (!p) {
            fprintf(stderr, "onnxc info: error: %s: %s\n", src, d.msg);
            oc_pass_report_free(&rep);
            oc_graph_free(g);
            return 1;
        }
        printf("plan: %d steps; arena %.2f MB for intermediates (their sum %.2f MB, %.1fx reuse); "
               "weights %.2f MB; scratch %.2f MB\n",
               p->n_steps, (double)p->arena_bytes / 1e6, (double)p->tensor_bytes / 1e6,
               p->arena_bytes ? (double)p->tensor_bytes / (double)p->arena_bytes : 1.0, (double)p->weight_bytes / 1e6,
               (double)p->scratch_bytes / 1e6);
        oc_plan_free(p);
    }
    oc_pass_report_free(&rep);
    oc_graph_free(g);
    return 0;
}
