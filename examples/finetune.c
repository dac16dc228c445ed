/* finetune.c: train an ONNX classifier on MNIST-layout data through
 * onnxc's public trainer API, evaluate it, save a checkpoint and export
 * the trained model.
 *
 *   finetune MODEL.onnx DATA_DIR OUT.onnx [--samples N] [--epochs E] [--batch B]
 *            [--lr X] [--head-only PARAM,...] [--min-accuracy A]
 *
 * DATA_DIR holds train-images-idx3-ubyte.gz / train-labels-idx1-ubyte.gz
 * and the t10k-* pair (the MNIST files). The first N training images
 * train the model (SGD, momentum 0.9), 1000 test images measure it before
 * and after. --head-only freezes every parameter except those listed.
 * --min-accuracy makes the exit status 1 when the final test accuracy is
 * below A (for tests). The model takes [batch, 1, 28, 28] floats and gives
 * logits [batch, classes].
 *
 * Build: see Makefile (pkg-config) or CMakeLists.txt (find_package). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <onnxc.h>

/* Reads an IDX file (gzip'd) of unsigned bytes: *n items of *item bytes
 * each, at most max_n items; NULL on error. */
static unsigned char *read_idx(const char *dir, const char *name, int64_t max_n, int64_t *n, int64_t *item)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "rb");
    unsigned char hdr[4];
    if (!f || gzread(f, hdr, 4) != 4 || hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] < 1 || hdr[3] > 3) {
        fprintf(stderr, "finetune: %s: not an IDX file of unsigned bytes\n", path);
        if (f)
            gzclose(f);
        return NULL;
    }
    int64_t dims[3] = {1, 1, 1};
    for (int i = 0; i < hdr[3]; i++) {
        unsigned char b[4];
        if (gzread(f, b, 4) != 4) {
            gzclose(f);
            return NULL;
        }
        dims[i] = (int64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
    }
    *n = dims[0] < max_n ? dims[0] : max_n;
    *item = dims[1] * dims[2];
    size_t bytes = (size_t)(*n * *item);
    unsigned char *data = malloc(bytes ? bytes : 1);
    if (!data || gzread(f, data, (unsigned)bytes) != (int)bytes) {
        fprintf(stderr, "finetune: %s: short file\n", path);
        free(data);
        data = NULL;
    }
    gzclose(f);
    return data;
}

/* Images as normalized floats and labels as int64 (MNIST mean/std). */
static int load_split(const char *dir, const char *prefix, int64_t max_n, float **x, int64_t **y, int64_t *n)
{
    char in[64], ln[64];
    snprintf(in, sizeof in, "%s-images-idx3-ubyte.gz", prefix);
    snprintf(ln, sizeof ln, "%s-labels-idx1-ubyte.gz", prefix);
    int64_t ni, nl, item, one;
    unsigned char *img = read_idx(dir, in, max_n, &ni, &item), *lab = read_idx(dir, ln, max_n, &nl, &one);
    if (!img || !lab || ni != nl || item != 28 * 28) {
        free(img);
        free(lab);
        return -1;
    }
    *x = malloc(sizeof(float) * (size_t)(ni * item));
    *y = malloc(sizeof(int64_t) * (size_t)ni);
    for (int64_t i = 0; *x && *y && i < ni * item; i++)
        (*x)[i] = (img[i] / 255.0f - 0.1307f) / 0.3081f;
    for (int64_t i = 0; *x && *y && i < ni; i++)
        (*y)[i] = lab[i];
    free(img);
    free(lab);
    *n = ni;
    return *x && *y ? 0 : -1;
}

static int fail(const char *what)
{
    fprintf(stderr, "finetune: %s: %s\n", what, onnxc_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *out_path = NULL, *head = NULL;
    int64_t samples = 4000, epochs = 1, batch = 32;
    double lr = 0.01, min_acc = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--lr") && i + 1 < argc)
            lr = atof(argv[++i]);
        else if (!strcmp(argv[i], "--head-only") && i + 1 < argc)
            head = argv[++i];
        else if (!strcmp(argv[i], "--min-accuracy") && i + 1 < argc)
            min_acc = atof(argv[++i]);
        else if (!model_path)
            model_path = argv[i];
        else if (!data)
            data = argv[i];
        else if (!out_path)
            out_path = argv[i];
    }
    if (!model_path || !data || !out_path || samples < batch || batch < 1 || epochs < 1) {
        fprintf(stderr, "usage: finetune MODEL.onnx DATA_DIR OUT.onnx [--samples N] [--epochs E] [--batch B]\n"
                        "                [--lr X] [--head-only PARAM,...] [--min-accuracy A]\n");
        return 2;
    }
    float *xtr, *xte;
    int64_t *ytr, *yte, ntr, nte;
    if (load_split(data, "train", samples, &xtr, &ytr, &ntr) || load_split(data, "t10k", 1000, &xte, &yte, &nte))
        return 1;
    printf("data: %lld training and %lld test images from %s\n", (long long)ntr, (long long)nte, data);

    onnxc_options *opts;
    onnxc_model *model;
    if (onnxc_options_new(&opts) || onnxc_model_load(model_path, opts, &model))
        return fail(model_path);
    onnxc_options_free(opts);

    onnxc_train_options *to;
    if (onnxc_train_options_new(&to) || onnxc_train_options_set_batch(to, batch) ||
        onnxc_train_options_set_optimizer(to, "sgd") || onnxc_train_options_set_lr(to, lr) ||
        onnxc_train_options_set_momentum(to, 0.9) || onnxc_train_options_set_loss(to, "softmax_cross_entropy"))
        return fail("options");
    if (head) { /* head-only: everything frozen but the listed parameters */
        onnxc_train_options_freeze_all(to);
        char *list = malloc(strlen(head) + 1);
        if (!list)
            return 1;
        strcpy(list, head);
        for (char *p = strtok(list, ","); p; p = strtok(NULL, ","))
            if (onnxc_train_options_set_trainable(to, p, 1))
                return fail("--head-only");
        free(list);
    }
    onnxc_trainer *tr;
    if (onnxc_trainer_new(model, to, &tr))
        return fail("trainer");
    onnxc_train_options_free(to);
    onnxc_model_free(model); /* the trainer keeps what it needs */
    printf("training %d parameter tensors, batch %lld\n", onnxc_trainer_trainable_count(tr),
           (long long)onnxc_trainer_batch(tr));

    double loss, acc;
    if (onnxc_trainer_evaluate(tr, xte, yte, nte, &loss, &acc))
        return fail("evaluate");
    printf("before: test loss %.4f, accuracy %.2f%%\n", loss, 100 * acc);
    int64_t sample = onnxc_trainer_sample_size(tr);
    for (int64_t e = 0; e < epochs; e++) {
        double sum = 0;
        int64_t steps = ntr / batch;
        for (int64_t s = 0; s < steps; s++) {
            double l;
            if (onnxc_trainer_step(tr, xtr + s * batch * sample, ytr + s * batch, &l))
                return fail("step");
            sum += l;
        }
        if (onnxc_trainer_evaluate(tr, xte, yte, nte, &loss, &acc))
            return fail("evaluate");
        printf("epoch %lld: train loss %.4f, test loss %.4f, accuracy %.2f%% (%lld steps)\n", (long long)e + 1,
               sum / (double)steps, loss, 100 * acc, (long long)onnxc_trainer_steps(tr));
    }
    char ckpt[4096];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out_path);
    if (onnxc_trainer_save_checkpoint(tr, ckpt) || onnxc_trainer_load_checkpoint(tr, ckpt))
        return fail(ckpt);
    if (onnxc_trainer_export(tr, out_path))
        return fail(out_path);
    printf("wrote %s and %s\n", out_path, ckpt);
    onnxc_trainer_free(tr);
    free(xtr);
    free(ytr);
    free(xte);
    free(yte);
    if (min_acc >= 0 && acc < min_acc) {
        fprintf(stderr, "finetune: test accuracy %.4f is below %.4f\n", acc, min_acc);
        return 1;
    }
    return 0;
}
