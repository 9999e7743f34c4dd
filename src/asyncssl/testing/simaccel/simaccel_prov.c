/*
 * simaccel's provider entry point: the dispatch table, the algorithm tables, the
 * provider context (a private library context with the default provider, which does
 * the math); errors are raised through simaccel_err.c.
 */
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include "simaccel_int.h"

/* Signatures are what simaccel accelerates; the key managers exist only because
   libcrypto exports a key to the signature's provider (see SIMACCEL_PREFERENCE). */
#define SIMACCEL_SIG_PROPS "provider=simaccel,simaccel.sign=yes"
#define SIMACCEL_KEYS_PROPS "provider=simaccel,simaccel.keys=yes"

static const OSSL_ALGORITHM simaccel_signatures[] = {
    { "ECDSA", SIMACCEL_SIG_PROPS, simaccel_signature_ecdsa_functions, "ECDSA on the simulated accelerator" },
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", SIMACCEL_SIG_PROPS, simaccel_signature_rsa_functions,
      "RSA PKCS#1 v1.5 and PSS signatures on the simulated accelerator" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM simaccel_keymgmts[] = {
    { "EC:id-ecPublicKey:1.2.840.10045.2.1", SIMACCEL_KEYS_PROPS, simaccel_keymgmt_ec_functions,
      "EC keys imported for the simulated accelerator" },
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", SIMACCEL_KEYS_PROPS, simaccel_keymgmt_rsa_functions,
      "RSA keys imported for the simulated accelerator" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ITEM simaccel_reasons[] = {
    { SIMACCEL_R_INJECTED_FAILURE, "simulated accelerator: injected failure" },
    { SIMACCEL_R_OPERATION_FAILED, "simulated accelerator: operation failed" },
    { SIMACCEL_R_WRONG_KEY, "simulated accelerator: wrong key type" },
    { SIMACCEL_R_NOT_INITIALIZED, "simulated accelerator: operation not initialized" },
    { SIMACCEL_R_DEVICE_ERROR, "simulated accelerator: device error" },
    { 0, NULL }
};

static const OSSL_ALGORITHM *simaccel_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return simaccel_signatures;
    case OSSL_OP_KEYMGMT:
        return simaccel_keymgmts;
    }
    return NULL;
}

static const OSSL_ITEM *simaccel_get_reason_strings(void *provctx)
{
    (void)provctx;
    return simaccel_reasons;
}

static const OSSL_PARAM simaccel_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *simaccel_gettable_params(void *provctx)
{
    (void)provctx;
    return simaccel_param_types;
}

static int simaccel_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    (void)provctx;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL
        && !OSSL_PARAM_set_utf8_ptr(p, "asyncssl simulated accelerator"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL && !OSSL_PARAM_set_utf8_ptr(p, "0.1.0"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL
        && !OSSL_PARAM_set_utf8_ptr(p, OPENSSL_VERSION_TEXT))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static void simaccel_provctx_free(struct simaccel_provctx *p)
{
    EVP_SIGNATURE_free(p->sig_ecdsa);
    EVP_SIGNATURE_free(p->sig_rsa);
    EVP_PKEY_CTX_free(p->fromdata_ec);
    EVP_PKEY_CTX_free(p->fromdata_rsa);
    EVP_KEYMGMT_free(p->keymgmt_ec);
    EVP_KEYMGMT_free(p->keymgmt_rsa);
    if (p->libctx != NULL)
        simaccel_device_release(); /* after the objects fetched from the device's context */
    free(p);
}

static void simaccel_teardown(void *provctx)
{
    simaccel_provctx_free(provctx);
}

static const OSSL_DISPATCH simaccel_dispatch[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))simaccel_teardown },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))simaccel_query },
    { OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))simaccel_get_reason_strings },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))simaccel_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))simaccel_get_params },
    { 0, NULL }
};

static EVP_PKEY_CTX *simaccel_fromdata_ctx(OSSL_LIB_CTX *libctx, const char *type)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, type, NULL);

    if (ctx != NULL && EVP_PKEY_fromdata_init(ctx) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int simaccel_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
                           void **provctx)
{
    struct simaccel_provctx *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return 0;
    p->handle = handle;
    for (; in != NULL && in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            p->new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            p->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            p->vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        }
    }
    p->libctx = simaccel_device_acquire();
    if (p->libctx != NULL) {
        p->keymgmt_ec = EVP_KEYMGMT_fetch(p->libctx, "EC", NULL);
        p->keymgmt_rsa = EVP_KEYMGMT_fetch(p->libctx, "RSA", NULL);
        p->fromdata_ec = simaccel_fromdata_ctx(p->libctx, "EC");
        p->fromdata_rsa = simaccel_fromdata_ctx(p->libctx, "RSA");
        p->sig_ecdsa = EVP_SIGNATURE_fetch(p->libctx, "ECDSA", NULL);
        p->sig_rsa = EVP_SIGNATURE_fetch(p->libctx, "RSA", NULL);
    }
    if (p->keymgmt_ec == NULL || p->keymgmt_rsa == NULL || p->fromdata_ec == NULL || p->fromdata_rsa == NULL
        || p->sig_ecdsa == NULL || p->sig_rsa == NULL) {
        simaccel_provctx_free(p);
        return 0;
    }
    *out = simaccel_dispatch;
    *provctx = p;
    return 1;
}
