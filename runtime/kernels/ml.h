/* ml.h: kernels of ONNX's classical-ML domain ai.onnx.ml: Binarizer (1),
 * ArrayFeatureExtractor (1), TreeEnsemble (5) and LabelEncoder (2, 4) over
 * numbers (onnxc has no string tensors). The compiler side (attributes,
 * shape rules, lowering) is compiler/ops/ml.c, which checks every index
 * the attributes hold, so the kernels only check what the data decides. */
#ifndef ONNXC_KERNELS_ML_H
#define ONNXC_KERNELS_ML_H

#include "../plan.h"

typedef struct oc_binarizer_params {
    double threshold;
} oc_binarizer_params;

/* Binarizer: Y = X > threshold ? 1 : 0, same type (NaN gives 0). */
int oc_binarizer_forward(const oc_kargs *a);

/* ArrayFeatureExtractor: X [..., F] (or [F], taken as [1, F]) and int64
 * indices Y (any shape, K elements) -> Z [..., K] with Z[..., k] =
 * X[..., Y[k]]; an index outside [0, F) is an error. */
int oc_array_feature_extractor_forward(const oc_kargs *a);

/* TreeEnsemble node comparisons (nodes_modes) and aggregations. */
enum { OC_TREE_LEQ, OC_TREE_LT, OC_TREE_GTE, OC_TREE_GT, OC_TREE_EQ, OC_TREE_NEQ, OC_TREE_MEMBER };
enum { OC_TREE_AVERAGE, OC_TREE_SUM, OC_TREE_MIN, OC_TREE_MAX };

typedef struct oc_tree_node {
    double split;              /* threshold, for all modes but MEMBER */
    int64_t feature;           /* column of X compared */
    int64_t set_start, set_len; /* MEMBER: the set is set_len values at set_start of the set pool */
    int64_t child[2];          /* true, false branch: node index, or leaf index when leaf[] says so */
    int32_t mode;              /* OC_TREE_LEQ .. OC_TREE_MEMBER */
    uint8_t leaf[2];
    uint8_t missing_true;      /* a NaN feature takes the true branch */
} oc_tree_node;

typedef struct oc_tree_leaf {
    double weight;
    int64_t target;
} oc_tree_leaf;

/* A variable-size block: this header, then n_nodes oc_tree_node, n_leaves
 * oc_tree_leaf, n_trees int64 roots and n_set double set members, at the
 * offsets (bytes from the block's start). */
typedef struct oc_tree_ensemble_params {
    int aggregate;            /* OC_TREE_AVERAGE .. OC_TREE_MAX */
    int64_t n_features, n_targets;
    int64_t n_nodes, n_leaves, n_trees, n_set;
    size_t nodes_off, leaves_off, roots_off, set_off;
} oc_tree_ensemble_params;

/* TreeEnsemble: X [N, F] -> Y [N, n_targets]: every tree routes each row
 * from its root to a leaf (the true branch when the comparison of
 * X[row, feature] with the split holds), and the leaves' weights are
 * aggregated per target (SUM, AVERAGE over the trees, MIN, MAX; targets no
 * leaf reaches keep 0 or the type's extreme). post_transform NONE only. */
int oc_tree_ensemble_forward(const oc_kargs *a);

typedef struct oc_label_pair {
    int64_t ikey;   /* integer keys */
    double fkey;    /* float keys */
    double value;
    int64_t soff, slen; /* string keys: bytes at bytes_off + soff in the block */
} oc_label_pair;

/* A variable-size block: this header, then n oc_label_pair sorted by key
 * (NaN float keys last; string keys by bytes, a prefix first) at
 * pairs_off, then string keys' bytes at bytes_off. */
typedef struct oc_label_encoder_params {
    int int_keys;   /* keys are integers (compare ikey), else floats (fkey) */
    int str_keys;   /* keys are strings (X is a string tensor) */
    int64_t n;
    double dflt;    /* value of inputs no key matches */
    size_t pairs_off, bytes_off;
} oc_label_encoder_params;

/* Order of string keys: bytes compared as unsigned, a prefix first. */
int oc_label_key_cmp(const char *a, int64_t na, const char *b, int64_t nb);

/* LabelEncoder to numbers: Y[i] = the value of key X[i] (a number or a
 * string), or the default. */
int oc_label_encoder_forward(const oc_kargs *a);

#endif
