# kmsmote's public Cython API: the compiled kernels, callable without the GIL.
#
#     from kmsmote.ckernels cimport assign_f64, knn_sparsity_f64, generate_f64
#
# Compile the calling extension with kmsmote.get_include() on its include
# path (the status codes and kms_idx come from kmsmote/kms_common.h).  No
# linking is needed: the functions are reached through this module's C-API
# table when it is cimported.  Every function returns a kms_status code
# (KMS_OK == 0; status_message(code) describes any other), never raises,
# and gives the same result for any n_threads (< 1 means 1).
#
# ABI promise: the signatures below are never changed; new functions may be
# added.

from libc.stdint cimport int64_t


cdef extern from "kmsmote/kms_common.h" nogil:
    ctypedef int64_t kms_idx

    ctypedef enum kms_status:
        KMS_OK
        KMS_ERR_NOMEM
        KMS_ERR_BAD_SHAPE
        KMS_ERR_BAD_K
        KMS_ERR_BAD_INDEX
        KMS_ERR_INTERRUPTED
        KMS_ERR_NONFINITE
        KMS_ERR_BAD_CSR


# Nearest centre of each row of X (n, d), row-major, among centers (k, d):
# labels[n] receive centre indices (ties: lowest index), dist2[n] (if not
# NULL) the squared Euclidean distances.
cdef int assign_f64(const double *X, kms_idx n, kms_idx d,
                    const double *centers, kms_idx k,
                    kms_idx *labels, double *dist2, int n_threads) noexcept nogil
cdef int assign_f32(const float *X, kms_idx n, kms_idx d,
                    const float *centers, kms_idx k,
                    kms_idx *labels, double *dist2, int n_threads) noexcept nogil

# Within the set {X[rows[0]], ..., X[rows[m-1]]} of rows of X (n_total, d):
# the k nearest other members of each member (self excluded, ties by
# ascending position), as positions in nn[m*k], their distances in
# nn_dist[m*k] (if not NULL), and the sum of the Euclidean distances over
# all unordered pairs in *pair_dist_sum (mean = 2 * sum / (m * (m - 1))).
cdef int knn_sparsity_f64(const double *X, kms_idx n_total, kms_idx d,
                          const kms_idx *rows, kms_idx m, kms_idx k,
                          kms_idx *nn, double *nn_dist, double *pair_dist_sum,
                          int n_threads) noexcept nogil
cdef int knn_sparsity_f32(const float *X, kms_idx n_total, kms_idx d,
                          const kms_idx *rows, kms_idx m, kms_idx k,
                          kms_idx *nn, double *nn_dist, double *pair_dist_sum,
                          int n_threads) noexcept nogil

# SMOTE interpolation into out (n_new, d): for t < n_new, with
# s = sample_idx[t], base = X[rows[s / k]], other = X[rows[nn[s]]]:
# out[t] = base + steps[t] * (other - base), rounded as NumPy rounds it.
cdef int generate_f64(const double *X, kms_idx n_total, kms_idx d,
                      const kms_idx *rows, kms_idx m,
                      const kms_idx *nn, kms_idx k,
                      const kms_idx *sample_idx, const double *steps,
                      kms_idx n_new, double *out, int n_threads) noexcept nogil
cdef int generate_f32(const float *X, kms_idx n_total, kms_idx d,
                      const kms_idx *rows, kms_idx m,
                      const kms_idx *nn, kms_idx k,
                      const kms_idx *sample_idx, const double *steps,
                      kms_idx n_new, float *out, int n_threads) noexcept nogil

# A static, human-readable description of a status code.
cdef const char *status_message(int status) noexcept nogil

# knn_sparsity for n_sets sets at once (the threads share the sets out):
# set s is rows[offsets[s]] .. rows[offsets[s+1] - 1] (offsets[0] = 0,
# non-decreasing) with ks[s] neighbours; its positions go to nn from
# sum_{t<s} m_t * ks[t] on, its pair sum to pair_dist_sums[s].  Outputs
# are bit-identical to one knn_sparsity call per set.
cdef int knn_sparsity_sets_f64(const double *X, kms_idx n_total, kms_idx d,
                               const kms_idx *rows, const kms_idx *offsets,
                               kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                               double *pair_dist_sums, int n_threads) noexcept nogil
cdef int knn_sparsity_sets_f32(const float *X, kms_idx n_total, kms_idx d,
                               const kms_idx *rows, const kms_idx *offsets,
                               kms_idx n_sets, const kms_idx *ks, kms_idx *nn,
                               double *pair_dist_sums, int n_threads) noexcept nogil
