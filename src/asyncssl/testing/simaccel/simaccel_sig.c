/*
 * simaccel's ECDSA and RSA signatures.
 *
 * Each context wraps an inner EVP_MD_CTX (digest sign/verify) or EVP_PKEY_CTX (sign/
 * verify of a precomputed digest) of the private library context, so parameters such
 * as RSA padding (PKCS#1 v1.5 for TLS 1.2, PSS for TLS 1.3's rsa_pss_rsae_*) and PSS
 * salt length pass straight through to the default provider.  Digesting runs on the
 * caller; the final private- or public-key operation is what goes to the device
 * (simaccel_offload), which may pause the caller's async job.
 */
#include <stdlib.h>
#include <string.h>
#include "simaccel_int.h"

struct simaccel_sigctx {
    struct simaccel_provctx *prov;
    int is_rsa;
    EVP_PKEY *pkey; /* a reference to the key's EVP_PKEY */
    EVP_MD_CTX *md; /* after digest_sign_init / digest_verify_init */
    EVP_PKEY_CTX *pk; /* after sign_init / verify_init */
};

enum simaccel_work_kind {
    SIMACCEL_DIGEST_SIGN_FINAL,
    SIMACCEL_DIGEST_SIGN,
    SIMACCEL_DIGEST_VERIFY_FINAL,
    SIMACCEL_DIGEST_VERIFY,
    SIMACCEL_SIGN,
    SIMACCEL_VERIFY
};

/* One device operation; runs on the worker thread. */
struct simaccel_sig_work {
    enum simaccel_work_kind kind;
    struct simaccel_sigctx *ctx;
    unsigned char *sig;
    const unsigned char *csig;
    size_t siglen;
    const unsigned char *tbs;
    size_t tbslen;
};

static int simaccel_sig_run(void *arg)
{
    struct simaccel_sig_work *w = arg;

    switch (w->kind) {
    case SIMACCEL_DIGEST_SIGN_FINAL:
        return EVP_DigestSignFinal(w->ctx->md, w->sig, &w->siglen);
    case SIMACCEL_DIGEST_SIGN:
        return EVP_DigestSign(w->ctx->md, w->sig, &w->siglen, w->tbs, w->tbslen);
    case SIMACCEL_DIGEST_VERIFY_FINAL:
        return EVP_DigestVerifyFinal(w->ctx->md, w->csig, w->siglen);
    case SIMACCEL_DIGEST_VERIFY:
        return EVP_DigestVerify(w->ctx->md, w->csig, w->siglen, w->tbs, w->tbslen);
    case SIMACCEL_SIGN:
        return EVP_PKEY_sign(w->ctx->pk, w->sig, &w->siglen, w->tbs, w->tbslen);
    case SIMACCEL_VERIFY:
        return EVP_PKEY_verify(w->ctx->pk, w->csig, w->siglen, w->tbs, w->tbslen);
    }
    return 0;
}

static void *simaccel_sig_newctx(void *provctx, int is_rsa)
{
    struct simaccel_sigctx *c = calloc(1, sizeof(*c));

    if (c != NULL) {
        c->prov = provctx;
        c->is_rsa = is_rsa;
    }
    return c;
}

static void *simaccel_sig_newctx_ecdsa(void *provctx, const char *propq)
{
    (void)propq; /* fetches for the math go to the private context, without a query */
    return simaccel_sig_newctx(provctx, 0);
}

static void *simaccel_sig_newctx_rsa(void *provctx, const char *propq)
{
    (void)propq;
    return simaccel_sig_newctx(provctx, 1);
}

static void simaccel_sig_reset(struct simaccel_sigctx *c)
{
    EVP_MD_CTX_free(c->md);
    EVP_PKEY_CTX_free(c->pk);
    c->md = NULL;
    c->pk = NULL;
}

static void simaccel_sig_freectx(void *vctx)
{
    struct simaccel_sigctx *c = vctx;

    if (c != NULL) {
        simaccel_sig_reset(c);
        EVP_PKEY_free(c->pkey);
        free(c);
    }
}

static void *simaccel_sig_dupctx(void *vctx)
{
    struct simaccel_sigctx *c = vctx, *d = simaccel_sig_newctx(c->prov, c->is_rsa);

    if (d == NULL)
        return NULL;
    if (c->pkey != NULL && EVP_PKEY_up_ref(c->pkey))
        d->pkey = c->pkey;
    if (c->md != NULL && ((d->md = EVP_MD_CTX_new()) == NULL || !EVP_MD_CTX_copy_ex(d->md, c->md)))
        goto err;
    if (c->pk != NULL && (d->pk = EVP_PKEY_CTX_dup(c->pk)) == NULL)
        goto err;
    return d;
err:
    simaccel_sig_freectx(d);
    return NULL;
}

/* Adopt the key given at init (NULL: re-initialise with the current one). */
static int simaccel_sig_set_key(struct simaccel_sigctx *c, void *provkey)
{
    struct simaccel_key *k = provkey;

    simaccel_sig_reset(c);
    if (k == NULL)
        return c->pkey != NULL;
    if (k->is_rsa != c->is_rsa || k->pkey == NULL) {
        simaccel_raise(c->prov, SIMACCEL_R_WRONG_KEY, "%s signature with %s key", c->is_rsa ? "RSA" : "ECDSA",
                       k->pkey == NULL ? "an empty" : k->is_rsa ? "an RSA" : "an EC");
        return 0;
    }
    if (!EVP_PKEY_up_ref(k->pkey))
        return 0;
    EVP_PKEY_free(c->pkey);
    c->pkey = k->pkey;
    return 1;
}

static int simaccel_sig_digest_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[],
                                    int verify)
{
    struct simaccel_sigctx *c = vctx;

    if (!simaccel_sig_set_key(c, provkey) || (c->md = EVP_MD_CTX_new()) == NULL)
        return 0;
    if (verify)
        return EVP_DigestVerifyInit_ex(c->md, NULL, mdname, c->prov->libctx, NULL, c->pkey, params) > 0;
    return EVP_DigestSignInit_ex(c->md, NULL, mdname, c->prov->libctx, NULL, c->pkey, params) > 0;
}

static int simaccel_sig_digest_sign_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
    return simaccel_sig_digest_init(vctx, mdname, provkey, params, 0);
}

static int simaccel_sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                           const OSSL_PARAM params[])
{
    return simaccel_sig_digest_init(vctx, mdname, provkey, params, 1);
}

static int simaccel_sig_need(struct simaccel_sigctx *c, const void *inner)
{
    if (inner == NULL)
        simaccel_raise(c->prov, SIMACCEL_R_NOT_INITIALIZED, "call the matching init first");
    return inner != NULL;
}

static int simaccel_sig_digest_sign_update(void *vctx, const unsigned char *data, size_t datalen)
{
    struct simaccel_sigctx *c = vctx;

    return simaccel_sig_need(c, c->md) && EVP_DigestSignUpdate(c->md, data, datalen) > 0;
}

static int simaccel_sig_digest_verify_update(void *vctx, const unsigned char *data, size_t datalen)
{
    struct simaccel_sigctx *c = vctx;

    return simaccel_sig_need(c, c->md) && EVP_DigestVerifyUpdate(c->md, data, datalen) > 0;
}

static int simaccel_sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_DIGEST_SIGN_FINAL, c, sig, NULL, sigsize, NULL, 0 };

    if (!simaccel_sig_need(c, c->md))
        return 0;
    if (sig == NULL) /* a size query: no device round trip */
        return EVP_DigestSignFinal(c->md, NULL, siglen) > 0;
    if (!simaccel_offload(c->prov, simaccel_sig_run, &w))
        return 0;
    *siglen = w.siglen;
    return 1;
}

static int simaccel_sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                                    const unsigned char *tbs, size_t tbslen)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_DIGEST_SIGN, c, sig, NULL, sigsize, tbs, tbslen };

    if (!simaccel_sig_need(c, c->md))
        return 0;
    if (sig == NULL)
        return EVP_DigestSign(c->md, NULL, siglen, tbs, tbslen) > 0;
    if (!simaccel_offload(c->prov, simaccel_sig_run, &w))
        return 0;
    *siglen = w.siglen;
    return 1;
}

static int simaccel_sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_DIGEST_VERIFY_FINAL, c, NULL, sig, siglen, NULL, 0 };

    return simaccel_sig_need(c, c->md) && simaccel_offload(c->prov, simaccel_sig_run, &w);
}

static int simaccel_sig_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                                      const unsigned char *tbs, size_t tbslen)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_DIGEST_VERIFY, c, NULL, sig, siglen, tbs, tbslen };

    return simaccel_sig_need(c, c->md) && simaccel_offload(c->prov, simaccel_sig_run, &w);
}

static int simaccel_sig_pkey_init(void *vctx, void *provkey, const OSSL_PARAM params[], int verify)
{
    struct simaccel_sigctx *c = vctx;

    if (!simaccel_sig_set_key(c, provkey)
        || (c->pk = EVP_PKEY_CTX_new_from_pkey(c->prov->libctx, c->pkey, NULL)) == NULL)
        return 0;
    if (verify)
        return EVP_PKEY_verify_init_ex(c->pk, params) > 0;
    return EVP_PKEY_sign_init_ex(c->pk, params) > 0;
}

static int simaccel_sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return simaccel_sig_pkey_init(vctx, provkey, params, 0);
}

static int simaccel_sig_verify_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return simaccel_sig_pkey_init(vctx, provkey, params, 1);
}

static int simaccel_sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                             const unsigned char *tbs, size_t tbslen)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_SIGN, c, sig, NULL, sigsize, tbs, tbslen };

    if (!simaccel_sig_need(c, c->pk))
        return 0;
    if (sig == NULL)
        return EVP_PKEY_sign(c->pk, NULL, siglen, tbs, tbslen) > 0;
    if (!simaccel_offload(c->prov, simaccel_sig_run, &w))
        return 0;
    *siglen = w.siglen;
    return 1;
}

static int simaccel_sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                               size_t tbslen)
{
    struct simaccel_sigctx *c = vctx;
    struct simaccel_sig_work w = { SIMACCEL_VERIFY, c, NULL, sig, siglen, tbs, tbslen };

    return simaccel_sig_need(c, c->pk) && simaccel_offload(c->prov, simaccel_sig_run, &w);
}

/* The inner context whose parameters (padding, salt length, digest, ...) are ours. */
static EVP_PKEY_CTX *simaccel_sig_inner(struct simaccel_sigctx *c)
{
    return c->md != NULL ? EVP_MD_CTX_get_pkey_ctx(c->md) : c->pk;
}

static int simaccel_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    EVP_PKEY_CTX *inner = simaccel_sig_inner(vctx);

    return inner != NULL && EVP_PKEY_CTX_get_params(inner, params) > 0;
}

static int simaccel_sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    EVP_PKEY_CTX *inner = simaccel_sig_inner(vctx);

    if (params == NULL || params[0].key == NULL)
        return 1;
    return inner != NULL && EVP_PKEY_CTX_set_params(inner, params) > 0;
}

static const OSSL_PARAM *simaccel_sig_ecdsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    return EVP_SIGNATURE_gettable_ctx_params(((struct simaccel_provctx *)provctx)->sig_ecdsa);
}

static const OSSL_PARAM *simaccel_sig_ecdsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    return EVP_SIGNATURE_settable_ctx_params(((struct simaccel_provctx *)provctx)->sig_ecdsa);
}

static const OSSL_PARAM *simaccel_sig_rsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    return EVP_SIGNATURE_gettable_ctx_params(((struct simaccel_provctx *)provctx)->sig_rsa);
}

static const OSSL_PARAM *simaccel_sig_rsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    return EVP_SIGNATURE_settable_ctx_params(((struct simaccel_provctx *)provctx)->sig_rsa);
}

#define SIMACCEL_SIGNATURE_COMMON                                                                   \
    { OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))simaccel_sig_freectx },                         \
    { OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))simaccel_sig_dupctx },                           \
    { OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))simaccel_sig_sign_init },                     \
    { OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))simaccel_sig_sign },                               \
    { OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))simaccel_sig_verify_init },                 \
    { OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))simaccel_sig_verify },                           \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))simaccel_sig_digest_sign_init },       \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))simaccel_sig_digest_sign_update },   \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))simaccel_sig_digest_sign_final },     \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))simaccel_sig_digest_sign },                 \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))simaccel_sig_digest_verify_init },   \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))simaccel_sig_digest_verify_update }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))simaccel_sig_digest_verify_final }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))simaccel_sig_digest_verify },             \
    { OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))simaccel_sig_get_ctx_params },           \
    { OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))simaccel_sig_set_ctx_params }

const OSSL_DISPATCH simaccel_signature_ecdsa_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))simaccel_sig_newctx_ecdsa },
    SIMACCEL_SIGNATURE_COMMON,
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))simaccel_sig_ecdsa_gettable },
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))simaccel_sig_ecdsa_settable },
    { 0, NULL }
};

const OSSL_DISPATCH simaccel_signature_rsa_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))simaccel_sig_newctx_rsa },
    SIMACCEL_SIGNATURE_COMMON,
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))simaccel_sig_rsa_gettable },
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))simaccel_sig_rsa_settable },
    { 0, NULL }
};
