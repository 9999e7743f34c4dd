/*
 * simaccel's key managers for EC and RSA keys.
 *
 * Why they exist: before a provider's signature runs, libcrypto exports the key to a
 * key manager of *that* provider (evp_pkey_export_to_provider); without one it falls
 * back to the key's own provider and simaccel is silently bypassed.  They only import
 * (and re-export) keys: the OSSL_PARAMs become an EVP_PKEY of simaccel's private
 * library context, i.e. a default-provider key that the signature code delegates to.
 * No key generation: the default provider keeps that (SIMACCEL_PREFERENCE).
 */
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include "simaccel_int.h"

static void *simaccel_key_new(void *provctx, int is_rsa)
{
    struct simaccel_key *k = calloc(1, sizeof(*k));

    if (k != NULL) {
        k->prov = provctx;
        k->is_rsa = is_rsa;
    }
    return k;
}

static void *simaccel_key_new_ec(void *provctx)
{
    return simaccel_key_new(provctx, 0);
}

static void *simaccel_key_new_rsa(void *provctx)
{
    return simaccel_key_new(provctx, 1);
}

static void simaccel_key_free(void *keydata)
{
    struct simaccel_key *k = keydata;

    if (k != NULL) {
        EVP_PKEY_free(k->pkey);
        free(k);
    }
}

static int simaccel_key_has(const void *keydata, int selection)
{
    const struct simaccel_key *k = keydata;

    if (k == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_ALL) == 0)
        return 1;
    return k->pkey != NULL && (selection & OSSL_KEYMGMT_SELECT_KEYPAIR & ~k->selection) == 0;
}

static int simaccel_key_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    struct simaccel_key *k = keydata;
    const char *priv = k->is_rsa ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    const char *pub = k->is_rsa ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_PUB_KEY;
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *pkey = NULL;
    int have = 0, what;

    /* What the parameters really carry (a certificate's key has no private half). */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && OSSL_PARAM_locate_const(params, priv) != NULL)
        have |= OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && OSSL_PARAM_locate_const(params, pub) != NULL)
        have |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    if (have & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        what = EVP_PKEY_KEYPAIR;
    else if (have & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
        what = EVP_PKEY_PUBLIC_KEY;
    else
        what = EVP_PKEY_KEY_PARAMETERS;

    ctx = EVP_PKEY_CTX_new_from_name(k->prov->libctx, k->is_rsa ? "RSA" : "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &pkey, what, (OSSL_PARAM *)params) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return 0;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(k->pkey);
    k->pkey = pkey;
    k->selection = have;
    return 1;
}

static int simaccel_key_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    struct simaccel_key *k = keydata;
    OSSL_PARAM *params = NULL;
    int ok;

    if (k->pkey == NULL || EVP_PKEY_todata(k->pkey, selection, &params) <= 0)
        return 0;
    ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

/* import_types has no provider context in OpenSSL 3.0/3.1, hence fixed lists. */
static const OSSL_PARAM simaccel_ec_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, NULL),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM simaccel_rsa_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0),
    OSSL_PARAM_END
};

static const OSSL_PARAM *simaccel_ec_types_fn(int selection)
{
    (void)selection;
    return simaccel_ec_types;
}

static const OSSL_PARAM *simaccel_rsa_types_fn(int selection)
{
    (void)selection;
    return simaccel_rsa_types;
}

static int simaccel_key_get_params(void *keydata, OSSL_PARAM params[])
{
    struct simaccel_key *k = keydata;

    return k->pkey != NULL && EVP_PKEY_get_params(k->pkey, params);
}

static const OSSL_PARAM *simaccel_km_ec_gettable(void *provctx)
{
    return EVP_KEYMGMT_gettable_params(((struct simaccel_provctx *)provctx)->keymgmt_ec);
}

static const OSSL_PARAM *simaccel_km_rsa_gettable(void *provctx)
{
    return EVP_KEYMGMT_gettable_params(((struct simaccel_provctx *)provctx)->keymgmt_rsa);
}

static int simaccel_key_match(const void *keydata1, const void *keydata2, int selection)
{
    const struct simaccel_key *a = keydata1, *b = keydata2;

    if (a->pkey == NULL || b->pkey == NULL)
        return 0;
    if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR)
        return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
    return EVP_PKEY_parameters_eq(a->pkey, b->pkey) == 1;
}

static const char *simaccel_ec_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static const char *simaccel_rsa_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

#define SIMACCEL_KEYMGMT_COMMON                                                          \
    { OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))simaccel_key_free },                      \
    { OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))simaccel_key_has },                        \
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))simaccel_key_import },                  \
    { OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))simaccel_key_export },                  \
    { OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))simaccel_key_get_params },          \
    { OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))simaccel_key_match }

const OSSL_DISPATCH simaccel_keymgmt_ec_functions[] = {
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))simaccel_key_new_ec },
    SIMACCEL_KEYMGMT_COMMON,
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))simaccel_ec_types_fn },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))simaccel_ec_types_fn },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))simaccel_km_ec_gettable },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))simaccel_ec_operation_name },
    { 0, NULL }
};

const OSSL_DISPATCH simaccel_keymgmt_rsa_functions[] = {
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))simaccel_key_new_rsa },
    SIMACCEL_KEYMGMT_COMMON,
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))simaccel_rsa_types_fn },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))simaccel_rsa_types_fn },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))simaccel_km_rsa_gettable },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))simaccel_rsa_operation_name },
    { 0, NULL }
};
