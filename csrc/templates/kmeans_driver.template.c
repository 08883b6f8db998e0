/*
 * kmsmote C core template: k-means drivers (assignment, Lloyd, k-means++),
 * written once for every input format.
 *
 * Included by kmeans_dense.template.c and kmeans_csr.template.c, once per
 * instance, with these defined:
 *
 *   KMS_T              element type (double or float)
 *   KMS_SRC            the input: a struct with at least the fields n and d
 *   KMS_LOCAL(name)    name with the instance suffix (static functions)
 *   KMS_LLOYD_BOUNDED  1 if the format provides the bounded pass below,
 *                      else 0
 *
 * and these format hooks, static functions named through KMS_LOCAL:
 *
 *   int  kms__src_check(src)          structure and finiteness checks made
 *                                     before any work or allocation that
 *                                     depends on the structure (KMS_OK if
 *                                     none)
 *   int64_t kms__src_work(src)        multiply-adds of one pass per centre
 *   KMS_LOCAL(kms__ws)                the assignment pass' work space, with
 *   int  kms__ws_alloc(ws, src, k, with_sums, ctx), kms__ws_free(ws)
 *   int  kms__assign_pass(src, Ct, cn, k, labels, dist2, count_changes,
 *                         sums_tot, counts_tot, changed_tot, inertia_tot,
 *                         ws, poller)
 *        labels (and dist2) of every row for the centres Ct (feature-major
 *        doubles, leading dimension round_up(k, NP)) with squared norms cn;
 *        with sums_tot, the per-label row sums (k x d) and counts, formed
 *        per chunk in row order and added in chunk order; *changed_tot
 *        counts changed labels, *inertia_tot is the compensated chunk-order
 *        sum of the chunks' row-order sums of distances
 *   void kms__row_sub(src, i, s)      s[f] -= x_if for every stored f
 *   void kms__row_set(src, i, s)      s[f] = x_if for every f (0 if absent)
 *   void kms__row_copy(src, i, dst)   dst[f] = x_if, element type, every f
 *   void kms__row_to_col(src, i, P, ld) P[f * ld] = x_if for every f
 *                                     whose entry may be non-zero (the
 *                                     others must already be 0)
 *   void kms__col_clear(src, i, P, ld) puts back the zeros row_to_col
 *                                     relies on (after P[f * ld] = x_if)
 *   double kms__pp_weight(src, i, closest, prev, prevn)
 *        closest[i], lowered to the distance to prev (d doubles, squared
 *        norm prevn) if prev is not NULL
 *   kms_idx kms__pp_per_thread(src, ldp) scratch doubles per thread for:
 *   int  kms__pp_first_chunk(src, r0, r1, Qt, qn, closest, tot, scratch)
 *        closest[i] = distance of row i to the point in column 0 of Qt
 *        (d x NP, feature-major, the other columns 0; qn[NP] its squared
 *        norms), *tot their sum in row order; non-zero if a NaN or
 *        infinity was met
 *   void kms__pp_cand_chunk(src, r0, r1, lagging, Qt, qn, Pt, pn, ldp,
 *                           nlt, closest, pp, scratch)
 *        if lagging, closest[i] = min(distance to Qt's point, closest[i]);
 *        then pp[t] = sum over the rows, in row order, of
 *        min(distance to candidate t, closest[i]), t < nlt
 *
 * With KMS_LLOYD_BOUNDED 1, the format also provides
 *
 *   double kms__max_sqnorm(src, nt)   an upper bound of the rows' squared
 *                                     norms
 *   int  kms__bounded_pass(src, Ct, cn, k, labels, dist2, count_changes,
 *                          sums_tot, counts_tot, changed_tot, inertia_tot,
 *                          bnd, skipped_tot, ws, poller)
 *        kms__assign_pass that skips the rows whose bounds (kms__bounds,
 *        kms_kmeans.c) prove their label, with the same labels, sums and
 *        counts (dense rows do)
 *
 * Every distance is kms__expand(||x||^2, x.c, ||c||^2) with the sums taken
 * over the features in ascending order, so a format that skips zero
 * entries computes bit-identical values, and the drivers below make the
 * same decisions for every format.
 */
#ifndef KMS_T
#error "kmeans_driver.template.c: define KMS_T before including this template"
#endif
#ifndef KMS_SRC
#error "kmeans_driver.template.c: define KMS_SRC before including this template"
#endif
#ifndef KMS_LOCAL
#error "kmeans_driver.template.c: define KMS_LOCAL before including this template"
#endif
#ifndef KMS_LLOYD_BOUNDED
#error "kmeans_driver.template.c: define KMS_LLOYD_BOUNDED before including this template"
#endif

/* Centres as a feature-major double matrix Ct[f * kp + c] (kp =
 * round_up(k, NP), padding columns zero) and their squared norms cn[kp];
 * non-zero if one is not finite. */
static int KMS_LOCAL(kms__centers_to_double)(const KMS_T *restrict centers,
                                             kms_idx k, kms_idx d,
                                             double *restrict Ct,
                                             double *restrict cn)
{
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    int bad = 0;
    for (kms_idx f = 0; f < d; f++) {
        for (kms_idx c = 0; c < kp; c++) {
            const double v = c < k ? (double)centers[c * d + f] : 0.0;
            bad |= (v - v) != 0.0;
            Ct[f * kp + c] = v;
        }
    }
    kms__col_sqnorms(Ct, kp, kp, d, cn);
    return bad;
}

static int KMS_LOCAL(kms__assign_drv)(const KMS_SRC *src, const KMS_T *centers,
                                      kms_idx k, kms_idx *labels, double *dist2,
                                      const kms_ctx *ctx)
{
    const kms_idx d = src->d;
    int status = KMS_OK;
    KMS_LOCAL(kms__ws) ws;
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    double *Ct = malloc((size_t)KMS_MAX(kp * d, 1) * sizeof(double));
    double *cn = malloc((size_t)kp * sizeof(double));
    kms__poller poller = kms__poller_init(ctx);

    memset(&ws, 0, sizeof(ws));
    status = KMS_LOCAL(kms__src_check)(src);
    if (status != KMS_OK) {
        goto cleanup;
    }
    status = KMS_LOCAL(kms__ws_alloc)(&ws, src, k, 0, ctx);
    if (status != KMS_OK || Ct == NULL || cn == NULL) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    if (KMS_LOCAL(kms__centers_to_double)(centers, k, d, Ct, cn)) {
        status = KMS_ERR_NONFINITE;
        goto cleanup;
    }
    status = KMS_LOCAL(kms__assign_pass)(src, Ct, cn, k, labels, dist2, 0, NULL,
                                         NULL, NULL, NULL, &ws, &poller);
cleanup:
    KMS_LOCAL(kms__ws_free)(&ws);
    free(Ct);
    free(cn);
    return status;
}

static int KMS_LOCAL(kms__lloyd_drv)(const KMS_SRC *src, kms_idx k,
                                     KMS_T *centers, int max_iter, double tol,
                                     kms_idx *labels, double *inertia,
                                     int *n_iter, const kms_ctx *ctx)
{
    const kms_idx n = src->n, d = src->d;
    const kms_idx kd = k * d;
    int status = KMS_OK;
    KMS_LOCAL(kms__ws) ws;
    kms__poller poller = kms__poller_init(ctx);
    const kms_idx kp = kms__round_up(k, KMS_DIST_NP);
    double *Ct = malloc((size_t)KMS_MAX(kp * d, 1) * sizeof(double));
    double *cn = malloc((size_t)kp * sizeof(double));
    double *sums = malloc((size_t)KMS_MAX(kd, 1) * sizeof(double));
    kms_idx *counts = malloc((size_t)k * sizeof(kms_idx));
    double *dist2 = malloc((size_t)n * sizeof(double));
    kms_idx *far_idx = malloc((size_t)k * sizeof(kms_idx));
    double *far_d = malloc((size_t)k * sizeof(double));
    kms_idx *empty = malloc((size_t)k * sizeof(kms_idx));
    int it = 0;
    int final_pass = 1;
    double in = 0.0;
#if KMS_LLOYD_BOUNDED
    /* Bounded passes after the first one (kms__bounds): the same labels,
     * sums and counts as full passes, most rows skipped once the centres
     * settle.  Without the memory for the bounds, full passes. */
    kms__bounds bnd;
    memset(&bnd, 0, sizeof(bnd));
    double *sqd = malloc((size_t)k * sizeof(double));
    int bounded = 0;
    double xmax = 0.0;
    if (max_iter > 1 && sqd != NULL) {
        bnd.ub = malloc((size_t)n * sizeof(double));
        bnd.lb = malloc((size_t)n * sizeof(double));
        bnd.drift = malloc((size_t)k * sizeof(double));
        bounded = bnd.ub != NULL && bnd.lb != NULL && bnd.drift != NULL;
    }
#endif

    memset(&ws, 0, sizeof(ws));
    status = KMS_LOCAL(kms__src_check)(src);
    if (status != KMS_OK) {
        goto cleanup;
    }
    status = KMS_LOCAL(kms__ws_alloc)(&ws, src, k, 1, ctx);
    if (status != KMS_OK || Ct == NULL || cn == NULL || sums == NULL ||
        counts == NULL || dist2 == NULL || far_idx == NULL || far_d == NULL ||
        empty == NULL) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    if (KMS_LOCAL(kms__centers_to_double)(centers, k, d, Ct, cn)) {
        status = KMS_ERR_NONFINITE;
        goto cleanup;
    }

#if KMS_LLOYD_BOUNDED
    if (bounded) {
        xmax = KMS_LOCAL(kms__max_sqnorm)(src, ws.nt);
    }
#endif
    while (it < max_iter) {
        kms_idx changed = 0;
        kms_idx skipped = 0;
#if KMS_LLOYD_BOUNDED
        if (bounded) {
            /* |e - d^2| <= (2d + 7) u (|x|^2 + |c|^2): doubled, with room
             * for the rounding of the norms' maxima, and subnormals. */
            double cmax = 0.0;
            for (kms_idx c = 0; c < k; c++) {
                cmax = cn[c] > cmax ? cn[c] : cmax;
            }
            bnd.margin = KMS__UP((double)(4 * d + 16) * 0x1p-52 * (xmax + cmax)) +
                         (double)(8 * d + 16) * 0x1p-1074;
            status = KMS_LOCAL(kms__bounded_pass)(src, Ct, cn, k, labels, dist2,
                                                  it > 0, sums, counts, &changed,
                                                  &in, &bnd, &skipped, &ws,
                                                  &poller);
            bnd.valid = 1;
        } else
#endif
        {
            status = KMS_LOCAL(kms__assign_pass)(src, Ct, cn, k, labels, dist2,
                                                 it > 0, sums, counts, &changed,
                                                 &in, &ws, &poller);
        }
        if (status != KMS_OK) {
            goto cleanup;
        }
        if (it == 0) {
            changed = n; /* there were no labels before */
        }
        it++;

        /* Empty clusters take the rows farthest from their centres, the
         * farthest first, lowest row index on ties (as scikit-learn). */
        kms_idx n_empty = 0;
        for (kms_idx c = 0; c < k; c++) {
            if (counts[c] == 0) {
                empty[n_empty++] = c;
            }
        }
        if (n_empty > 0 && skipped > 0) {
            /* The skipped rows' distances are needed: a full pass (the
             * same labels, sums and counts). */
            status = KMS_LOCAL(kms__assign_pass)(src, Ct, cn, k, labels, dist2, 0,
                                                 sums, counts, NULL, &in, &ws,
                                                 &poller);
            if (status != KMS_OK) {
                goto cleanup;
            }
            skipped = 0;
        }
        if (n_empty > 0) {
            kms_idx n_far = 0;
            for (kms_idx i = 0; i < n; i++) {
                const double v = dist2[i];
                if (n_far == n_empty && !(v > far_d[n_far - 1])) {
                    continue;
                }
                kms_idx q = n_far < n_empty ? n_far++ : n_far - 1;
                while (q > 0 && v > far_d[q - 1]) {
                    far_d[q] = far_d[q - 1];
                    far_idx[q] = far_idx[q - 1];
                    q--;
                }
                far_d[q] = v;
                far_idx[q] = i;
            }
            for (kms_idx e = 0; e < n_empty; e++) {
                const kms_idx c_new = empty[e];
                const kms_idx i = far_idx[e];
                const kms_idx c_old = labels[i];
                KMS_LOCAL(kms__row_sub)(src, i, sums + c_old * d);
                KMS_LOCAL(kms__row_set)(src, i, sums + c_new * d);
                counts[c_old]--;
                counts[c_new] = 1;
            }
        }

        /* New centres (a cluster left without rows keeps its centre) and
         * the summed squared shift, measured on the rounded centres. */
        double shift = 0.0;
        int moved = 0;
        for (kms_idx c = 0; c < k; c++) {
            double sc = 0.0;
            if (counts[c] > 0) {
                const double cnt = (double)counts[c];
                for (kms_idx f = 0; f < d; f++) {
                    const KMS_T v = (KMS_T)(sums[c * d + f] / cnt);
                    const double delta = (double)v - (double)centers[c * d + f];
                    moved |= v != centers[c * d + f];
                    sc += delta * delta;
                    shift += delta * delta;
                    centers[c * d + f] = v;
                    Ct[f * kp + c] = (double)v;
                }
            }
#if KMS_LLOYD_BOUNDED
            sqd[c] = sc;
#else
            (void)sc;
#endif
        }
        kms__col_sqnorms(Ct, kp, kp, d, cn);
#if KMS_LLOYD_BOUNDED
        if (bounded) {
            kms__bounds_drift(&bnd, sqd, k, d);
        }
#endif
        if (changed == 0) {
            /* Labels did not change: the centres are the means of the same
             * labels again; the labels still match them unless a centre
             * moved (relocation).  The inertia needs every row's distance. */
            final_pass = moved || skipped > 0;
            break;
        }
        if (shift <= tol) {
            break;
        }
    }
    if (final_pass) {
#if KMS_LLOYD_BOUNDED
        if (bounded && bnd.valid) {
            /* The skipped rows' distances to their own centres make the
             * inertia of a full pass. */
            bnd.own = 1;
            status = KMS_LOCAL(kms__bounded_pass)(src, Ct, cn, k, labels, dist2, 0,
                                                  NULL, NULL, NULL, &in, &bnd,
                                                  NULL, &ws, &poller);
        } else
#endif
        {
            status = KMS_LOCAL(kms__assign_pass)(src, Ct, cn, k, labels, NULL, 0,
                                                 NULL, NULL, NULL, &in, &ws,
                                                 &poller);
        }
        if (status != KMS_OK) {
            goto cleanup;
        }
    }
    *inertia = in;
    *n_iter = it;

cleanup:
    KMS_LOCAL(kms__ws_free)(&ws);
    free(Ct);
    free(cn);
    free(sums);
    free(counts);
    free(dist2);
    free(far_idx);
    free(far_d);
    free(empty);
#if KMS_LLOYD_BOUNDED
    free(sqd);
    free(bnd.ub);
    free(bnd.lb);
    free(bnd.drift);
#endif
    return status;
}

/* Index of the first row whose cumulative weight exceeds r.  The
 * cumulative sum is defined chunk-wise (sum of the previous chunk totals in
 * chunk order, plus the weights of the chunk's rows in row order) exactly
 * as the totals were formed, so it is monotone and ends at the potential.
 * If r is not below the total, the last row of positive weight (0 if
 * none). */
static kms_idx KMS_LOCAL(kms__pp_search)(const KMS_SRC *src,
                                         const double *restrict closest,
                                         const double *restrict prev,
                                         double prevn,
                                         const double *restrict tot,
                                         kms_idx n_chunks, double r)
{
    const kms_idx n = src->n;
    double prefix = 0.0;
    for (kms_idx ch = 0; ch < n_chunks; ch++) {
        const double next = prefix + tot[ch];
        if (next > r) {
            const kms_idx i0 = ch * KMS_CHUNK_ROWS;
            const kms_idx i1 = KMS_MIN(n, i0 + KMS_CHUNK_ROWS);
            double local = 0.0;
            for (kms_idx i = i0; i < i1; i++) {
                local += KMS_LOCAL(kms__pp_weight)(src, i, closest, prev, prevn);
                if (prefix + local > r) {
                    return i;
                }
            }
            return i1 - 1;
        }
        prefix = next;
    }
    /* u * pot rounded up to the total, or every row coincides with a
     * centre. */
    kms_idx i = n - 1;
    while (i > 0 &&
           !(KMS_LOCAL(kms__pp_weight)(src, i, closest, prev, prevn) > 0.0)) {
        i--;
    }
    return i;
}

static int KMS_LOCAL(kms__kmeanspp_drv)(const KMS_SRC *src, kms_idx k,
                                        kms_idx n_local_trials, uint64_t seed,
                                        KMS_T *centers, const kms_ctx *ctx)
{
    const kms_idx n = src->n, d = src->d;
    const kms_idx n_chunks = (n + KMS_CHUNK_ROWS - 1) / KMS_CHUNK_ROWS;
    const kms_idx nlt = n_local_trials;
    /* Candidates feature-major, Pt[f * ldp + t], padding columns zero. */
    const kms_idx ldp = kms__round_up(nlt, KMS_DIST_NP);
    const int nt = kms__threads(ctx, n_chunks);
    const kms_idx per = KMS_LOCAL(kms__pp_per_thread)(src, ldp);
    int status = KMS_OK;
    int nonfinite = 0;
    int stop = 0;
    kms__poller poller = kms__poller_init(ctx);
    /* Multiply-adds per chunk and point (the pass' work spread evenly). */
    const int64_t chunk_work = KMS_LOCAL(kms__src_work)(src) / n_chunks + 1;
    double *closest = malloc((size_t)n * sizeof(double));
    double *tot = malloc((size_t)n_chunks * sizeof(double));
    double *part = malloc((size_t)n_chunks * (size_t)nlt * sizeof(double));
    double *cand_pot = malloc((size_t)nlt * sizeof(double));
    kms_idx *cand = malloc((size_t)nlt * sizeof(kms_idx));
    double *Pt = calloc((size_t)KMS_MAX(ldp * d, 1), sizeof(double));
    double *pn = calloc((size_t)ldp, sizeof(double));
    /* The last chosen centre, feature-major in column 0 of Qt (d x NP),
     * and as a plain vector in prev; qn its squared norm (and padding). */
    double *Qt = calloc((size_t)KMS_MAX(KMS_DIST_NP * d, 1), sizeof(double));
    double qn[KMS_DIST_NP] = {0.0};
    double *prev = malloc((size_t)KMS_MAX(d, 1) * sizeof(double));
    double *scratch = malloc((size_t)nt * (size_t)per * sizeof(double));
    int have_cand = 0;

    if (closest == NULL || tot == NULL || part == NULL || cand_pot == NULL ||
        cand == NULL || Pt == NULL || pn == NULL || Qt == NULL ||
        prev == NULL || scratch == NULL) {
        status = KMS_ERR_NOMEM;
        goto cleanup;
    }
    status = KMS_LOCAL(kms__src_check)(src);
    if (status != KMS_OK) {
        goto cleanup;
    }

    /* First centre: a uniformly drawn row. */
    kms_idx first = (kms_idx)(kms__uniform(seed, 0) * (double)n);
    first = KMS_MIN(first, n - 1);
    KMS_LOCAL(kms__row_copy)(src, first, centers);
    KMS_LOCAL(kms__row_to_col)(src, first, Qt, KMS_DIST_NP);
    kms__col_sqnorms(Qt, KMS_DIST_NP, 1, d, qn);

    /* closest[i]: squared distance to the nearest chosen centre;
     * tot[ch]: its sum over chunk ch in row order.  Every pass polls for
     * interrupts at chunk boundaries (thread 0); a dynamic schedule keeps
     * thread 0 taking chunks instead of waiting at the barrier. */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1) \
    reduction(| : nonfinite)
#endif
    for (kms_idx ch = 0; ch < n_chunks; ch++) {
        const int tid = KMS_THREAD_ID();
        if (kms__flag_get(&stop)) {
            continue;
        }
        if (tid == 0 && kms__poll(&poller, chunk_work)) {
            kms__flag_set(&stop);
            continue;
        }
        double *sc = scratch + (kms_idx)tid * per;
        const kms_idx r0 = ch * KMS_CHUNK_ROWS;
        const kms_idx r1 = KMS_MIN(n, r0 + KMS_CHUNK_ROWS);
        nonfinite |= KMS_LOCAL(kms__pp_first_chunk)(src, r0, r1, Qt, qn, closest,
                                                    tot + ch, sc);
    }
    /* And at the end of every pass (the other threads may have taken every
     * chunk). */
    if (stop || kms__poll(&poller, 0)) {
        status = KMS_ERR_INTERRUPTED;
        goto cleanup;
    }
    if (nonfinite) {
        status = KMS_ERR_NONFINITE;
        goto cleanup;
    }
    double pot = 0.0;
    for (kms_idx ch = 0; ch < n_chunks; ch++) {
        pot += tot[ch];
    }

    /* One pass per further centre.  closest[] lags one centre behind: the
     * pass for centre c first lowers it with centre c-1 (Qt), then forms
     * the candidates' potentials; the search in between accounts for
     * centre c-1 on the fly (prev), and tot[] is always up to date. */
    int lagging = 0;
    for (kms_idx c = 1; c < k; c++) {
        /* Candidates drawn with probability proportional to the weights. */
        if (have_cand) {
            for (kms_idx t = 0; t < nlt; t++) {
                KMS_LOCAL(kms__col_clear)(src, cand[t], Pt + t, ldp);
            }
        }
        for (kms_idx t = 0; t < nlt; t++) {
            const double u = kms__uniform(seed, (uint64_t)(1 + (c - 1) * nlt + t));
            const kms_idx i = KMS_LOCAL(kms__pp_search)(
                src, closest, lagging ? prev : NULL, qn[0], tot, n_chunks,
                u * pot);
            cand[t] = i;
            KMS_LOCAL(kms__row_to_col)(src, i, Pt + t, ldp);
        }
        have_cand = 1;
        kms__col_sqnorms(Pt, ldp, nlt, d, pn);

        /* Potential of each candidate: sum of min(weight, d(x, cand)), per
         * chunk in row order. */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
#endif
        for (kms_idx ch = 0; ch < n_chunks; ch++) {
            const int tid = KMS_THREAD_ID();
            if (kms__flag_get(&stop)) {
                continue;
            }
            if (tid == 0 && kms__poll(&poller, chunk_work * (nlt + 1))) {
                kms__flag_set(&stop);
                continue;
            }
            double *sc = scratch + (kms_idx)tid * per;
            const kms_idx r0 = ch * KMS_CHUNK_ROWS;
            const kms_idx r1 = KMS_MIN(n, r0 + KMS_CHUNK_ROWS);
            KMS_LOCAL(kms__pp_cand_chunk)(src, r0, r1, lagging, Qt, qn, Pt, pn, ldp,
                                          nlt, closest, part + ch * nlt, sc);
        }
        if (stop || kms__poll(&poller, 0)) {
            status = KMS_ERR_INTERRUPTED;
            goto cleanup;
        }
        kms_idx best = 0;
        for (kms_idx t = 0; t < nlt; t++) {
            double sum = 0.0;
            for (kms_idx ch = 0; ch < n_chunks; ch++) {
                sum += part[ch * nlt + t];
            }
            cand_pot[t] = sum;
            if (sum < cand_pot[best]) {
                best = t;
            }
        }
        pot = cand_pot[best];
        for (kms_idx ch = 0; ch < n_chunks; ch++) {
            tot[ch] = part[ch * nlt + best];
        }
        KMS_LOCAL(kms__row_copy)(src, cand[best], centers + c * d);
        for (kms_idx f = 0; f < d; f++) {
            prev[f] = Pt[f * ldp + best];
            Qt[f * KMS_DIST_NP] = prev[f];
        }
        qn[0] = pn[best];
        lagging = 1;
    }

cleanup:
    free(closest);
    free(tot);
    free(part);
    free(cand_pot);
    free(cand);
    free(Pt);
    free(pn);
    free(Qt);
    free(prev);
    free(scratch);
    return status;
}
