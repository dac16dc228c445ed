/* models.c: the network definitions. Shapes and parameter names follow
 * torchvision (resnet.py, vgg.py) and LeCun et al. 1998 for LeNet-5, so the
 * parameter counts match the published ones (ResNet-18 11,689,512; VGG-11
 * 132,863,336). */
#include "models.h"

#include <stdio.h>
#include <string.h>

#include "builder.h"

static const char *mlp(ob *b, const oc_model_opts *o)
{
    int64_t in = o->in_features;
    const char *x = ob_input(b, "input", o->batch, 1, &in);
    x = ob_relu(b, ob_linear(b, x, "fc1", o->in_features, o->hidden));
    return ob_linear(b, x, "fc2", o->hidden, o->classes);
}

static const char *lenet5(ob *b, const oc_model_opts *o)
{
    int64_t dims[3] = {o->channels, o->height, o->width};
    const char *x = ob_input(b, "input", o->batch, 3, dims);
    x = ob_maxpool(b, ob_relu(b, ob_conv(b, x, "conv1", o->channels, 6, 5, 1, 2, 1)), 2, 2, 0);
    x = ob_maxpool(b, ob_relu(b, ob_conv(b, x, "conv2", 6, 16, 5, 1, 0, 1)), 2, 2, 0);
    int64_t h = ((o->height) / 2 - 4) / 2, w = ((o->width) / 2 - 4) / 2;
    x = ob_flatten(b, x);
    x = ob_relu(b, ob_linear(b, x, "fc1", 16 * h * w, 120));
    x = ob_relu(b, ob_linear(b, x, "fc2", 120, 84));
    return ob_linear(b, x, "fc3", 84, o->classes);
}

static const char *vgg(ob *b, const oc_model_opts *o, const int *cfg, int bn)
{
    int64_t dims[3] = {o->channels, o->height, o->width};
    const char *x = ob_input(b, "input", o->batch, 3, dims);
    int64_t c = o->channels, h = o->height, w = o->width;
    int idx = 0; /* index into torchvision's `features` Sequential */
    char p[64];
    for (const int *v = cfg; *v; v++) {
        if (*v < 0) {
            x = ob_maxpool(b, x, 2, 2, 0);
            h /= 2;
            w /= 2;
            idx++;
            continue;
        }
        snprintf(p, sizeof p, "features.%d", idx++);
        x = ob_conv(b, x, p, c, *v, 3, 1, 1, 1);
        if (bn) {
            snprintf(p, sizeof p, "features.%d", idx++);
            x = ob_bn(b, x, p, *v);
        }
        x = ob_relu(b, x);
        idx++;
        c = *v;
    }
    /* torchvision pools adaptively to 7x7; at 224x224 that is the identity */
    if (h != 7 || w != 7) {
        oc_fail(b->d, "VGG needs a 224x224 input (7x7 features), got %lldx%lld", (long long)o->height,
                (long long)o->width);
        b->failed = 1;
        return "";
    }
    x = ob_flatten(b, x);
    x = ob_dropout(b, ob_relu(b, ob_linear(b, x, "classifier.0", c * 7 * 7, 4096)), 0.5f);
    x = ob_dropout(b, ob_relu(b, ob_linear(b, x, "classifier.3", 4096, 4096)), 0.5f);
    return ob_linear(b, x, "classifier.6", 4096, o->classes);
}

/* BasicBlock (expansion 1) or Bottleneck (expansion 4, stride on the 3x3
 * conv as torchvision's ResNet v1.5). */
static const char *block(ob *b, const char *x, const char *pre, int64_t cin, int64_t planes, int64_t stride,
                         int bottleneck)
{
    char p[96];
    const char *y;
    int64_t cout = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
        snprintf(p, sizeof p, "%s.conv1", pre);
        y = ob_conv(b, x, p, cin, planes, 1, 1, 0, 0);
        snprintf(p, sizeof p, "%s.bn1", pre);
        y = ob_relu(b, ob_bn(b, y, p, planes));
        snprintf(p, sizeof p, "%s.conv2", pre);
        y = ob_conv(b, y, p, planes, planes, 3, stride, 1, 0);
        snprintf(p, sizeof p, "%s.bn2", pre);
        y = ob_relu(b, ob_bn(b, y, p, planes));
        snprintf(p, sizeof p, "%s.conv3", pre);
        y = ob_conv(b, y, p, planes, cout, 1, 1, 0, 0);
        snprintf(p, sizeof p, "%s.bn3", pre);
        y = ob_bn(b, y, p, cout);
    } else {
        snprintf(p, sizeof p, "%s.conv1", pre);
        y = ob_conv(b, x, p, cin, planes, 3, stride, 1, 0);
        snprintf(p, sizeof p, "%s.bn1", pre);
        y = ob_relu(b, ob_bn(b, y, p, planes));
        snprintf(p, sizeof p, "%s.conv2", pre);
        y = ob_conv(b, y, p, planes, planes, 3, 1, 1, 0);
        snprintf(p, sizeof p, "%s.bn2", pre);
        y = ob_bn(b, y, p, planes);
    }
    const char *id = x;
    if (stride != 1 || cin != cout) {
        snprintf(p, sizeof p, "%s.downsample.0", pre);
        id = ob_conv(b, x, p, cin, cout, 1, stride, 0, 0);
        snprintf(p, sizeof p, "%s.downsample.1", pre);
        id = ob_bn(b, id, p, cout);
    }
    return ob_relu(b, ob_add(b, y, id));
}

static const char *resnet(ob *b, const oc_model_opts *o, const int *layers, int bottleneck)
{
    int64_t dims[3] = {o->channels, o->height, o->width};
    const char *x = ob_input(b, "input", o->batch, 3, dims);
    x = ob_conv(b, x, "conv1", o->channels, 64, 7, 2, 3, 0);
    x = ob_maxpool(b, ob_relu(b, ob_bn(b, x, "bn1", 64)), 3, 2, 1);
    int64_t cin = 64;
    char pre[32];
    for (int l = 0; l < 4; l++) {
        int64_t planes = 64 << l;
        for (int i = 0; i < layers[l]; i++) {
            snprintf(pre, sizeof pre, "layer%d.%d", l + 1, i);
            x = block(b, x, pre, cin, planes, (i == 0 && l > 0) ? 2 : 1, bottleneck);
            cin = bottleneck ? planes * 4 : planes;
        }
    }
    x = ob_flatten(b, ob_gap(b, x));
    return ob_linear(b, x, "fc", cin, o->classes);
}

/* ResNet-8 for small images: the CIFAR-style ResNet of He et al. 2016
 * (section 4.2) with one BasicBlock per stage: a 3x3 stem of 16 channels,
 * stages of 16, 32, 64 channels (strides 1, 2, 2), global average pool,
 * linear. About 78K parameters; small enough to pretrain on MNIST in
 * seconds, and it has what transfer learning exercises in the big nets
 * (BatchNorm, residual adds, a Gemm head). */
static const char *resnet8(ob *b, const oc_model_opts *o)
{
    int64_t dims[3] = {o->channels, o->height, o->width};
    const char *x = ob_input(b, "input", o->batch, 3, dims);
    x = ob_conv(b, x, "conv1", o->channels, 16, 3, 1, 1, 0);
    x = ob_relu(b, ob_bn(b, x, "bn1", 16));
    int64_t cin = 16;
    char pre[32];
    for (int l = 0; l < 3; l++) {
        int64_t planes = 16 << l;
        snprintf(pre, sizeof pre, "layer%d.0", l + 1);
        x = block(b, x, pre, cin, planes, l > 0 ? 2 : 1, 0);
        cin = planes;
    }
    x = ob_flatten(b, ob_gap(b, x));
    return ob_linear(b, x, "fc", cin, o->classes);
}

static const int vgg11_cfg[] = {64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1, 0};
static const int vgg16_cfg[] = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1, 0};
static const int r18[] = {2, 2, 2, 2}, r34[] = {3, 4, 6, 3};

void oc_model_opts_default(const char *name, oc_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    if (strcmp(name, "mlp") == 0) {
        o->in_features = 64;
        o->hidden = 128;
        o->classes = 10;
    } else if (strcmp(name, "lenet5") == 0 || strcmp(name, "resnet8") == 0) {
        o->channels = 1;
        o->height = o->width = 28;
        o->classes = 10;
    } else {
        o->channels = 3;
        o->height = o->width = 224;
        o->classes = 1000;
    }
}

const char *oc_model_names(void) { return "mlp, lenet5, resnet8, vgg11, vgg11_bn, vgg16, vgg16_bn, resnet18, resnet34, resnet50"; }

oc_graph *oc_model_build(const char *name, const oc_model_opts *o, oc_diag *d)
{
    ob b;
    if (o->classes < 1 || o->classes > (1 << 20))
        return oc_fail(d, "model '%s': classes must be 1..%d", name, 1 << 20), NULL;
    if (ob_begin(&b, name, o->seed, d))
        return NULL;
    const char *out;
    if (strcmp(name, "mlp") == 0)
        out = mlp(&b, o);
    else if (strcmp(name, "lenet5") == 0)
        out = lenet5(&b, o);
    else if (strcmp(name, "resnet8") == 0)
        out = resnet8(&b, o);
    else if (strcmp(name, "vgg11") == 0 || strcmp(name, "vgg11_bn") == 0)
        out = vgg(&b, o, vgg11_cfg, name[5] == '_');
    else if (strcmp(name, "vgg16") == 0 || strcmp(name, "vgg16_bn") == 0)
        out = vgg(&b, o, vgg16_cfg, name[5] == '_');
    else if (strcmp(name, "resnet18") == 0)
        out = resnet(&b, o, r18, 0);
    else if (strcmp(name, "resnet34") == 0)
        out = resnet(&b, o, r34, 0);
    else if (strcmp(name, "resnet50") == 0)
        out = resnet(&b, o, r34, 1);
    else {
        oc_graph_free(b.g);
        oc_fail(d, "unknown model '%s' (known: %s)", name, oc_model_names());
        return NULL;
    }
    return ob_finish(&b, out);
}
