/*
 * kmsmote C core: status messages and build/threading introspection.
 */
#include "kms_common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

const char *kms_status_message(int status)
{
    switch (status) {
    case KMS_OK:
        return "success";
    case KMS_ERR_NOMEM:
        return "out of memory while allocating scratch space";
    case KMS_ERR_BAD_SHAPE:
        return "a size argument is negative or inconsistent";
    case KMS_ERR_BAD_K:
        return "k is out of the range the set allows";
    case KMS_ERR_BAD_INDEX:
        return "an index argument points outside its array";
    case KMS_ERR_INTERRUPTED:
        return "interrupted";
    case KMS_ERR_NONFINITE:
        return "input contains NaN or infinity";
    case KMS_ERR_BAD_CSR:
        return "malformed CSR matrix (indptr decreasing, column index out of "
               "range, or columns not strictly increasing within a row)";
    default:
        return "unknown kmsmote status code";
    }
}

int kms_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int kms_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
