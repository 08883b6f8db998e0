/*
 * kmsmote C core: SMOTE interpolation (float64 and float32 instances).
 */
#include "kms_generate.h"
#include "kms_internal.h"

#define KMS_T double
#define KMS_FN(name) name##_f64
#include "kms_generate.inc"
#undef KMS_T
#undef KMS_FN

#define KMS_T float
#define KMS_FN(name) name##_f32
#include "kms_generate.inc"
#undef KMS_T
#undef KMS_FN
