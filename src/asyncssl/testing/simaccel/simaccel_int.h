/*
 * simaccel internals shared by the provider's parts (not for users).
 *
 * The parts call each other one way, one job per file (tests/offload/test_simaccel_sources.py):
 *   simaccel_module.c   loadable-module entry point        -> prov, device (settings)
 *   simaccel_prov.c     provider entry, algorithm tables   -> device, keymgmt, sig
 *   simaccel_sig.c      signatures                         -> device, err
 *   simaccel_keymgmt.c  key import/export                  (nothing)
 *   simaccel_device.c   the worker thread, pause/notify    -> err
 *   simaccel_err.c      errors through the core's upcalls  (nothing)
 * The device is below the provider: it gets the provider context only to raise errors on
 * the caller's queue (simaccel_raise, in simaccel_err.c), so it never calls up into
 * simaccel_prov.c, and the provider can be changed without touching the device.
 */
#ifndef SIMACCEL_INT_H
#define SIMACCEL_INT_H

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include "simaccel.h"

/* Reason codes, with texts in simaccel_prov.c (reported through the core's error upcalls). */
#define SIMACCEL_R_INJECTED_FAILURE 1
#define SIMACCEL_R_OPERATION_FAILED 2
#define SIMACCEL_R_WRONG_KEY 3
#define SIMACCEL_R_NOT_INITIALIZED 4
#define SIMACCEL_R_DEVICE_ERROR 5

struct simaccel_provctx {
    const OSSL_CORE_HANDLE *handle;
    /* The device's private library context (simaccel_device_acquire), holding the
       default provider, which does the math.  Private so that fetches made on behalf of
       simaccel can never select simaccel again, whatever default properties the
       caller's context has. */
    OSSL_LIB_CTX *libctx;
    EVP_KEYMGMT *keymgmt_ec, *keymgmt_rsa;
    EVP_PKEY_CTX *fromdata_ec, *fromdata_rsa; /* for the import/export parameter lists */
    EVP_SIGNATURE *sig_ecdsa, *sig_rsa;        /* for the ctx parameter lists */
    OSSL_FUNC_core_new_error_fn *new_error;
    OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
    OSSL_FUNC_core_vset_error_fn *vset_error;
};

/* A key as simaccel holds it: an EVP_PKEY of the private library context. */
struct simaccel_key {
    struct simaccel_provctx *prov;
    int is_rsa;
    EVP_PKEY *pkey;
    int selection; /* what has been imported */
};

void simaccel_raise(const struct simaccel_provctx *prov, int reason, const char *fmt, ...);

/*
 * The device.  simaccel_offload() submits work(arg) to the worker thread and returns
 * its result (1 success, 0 failure) once the device has completed it, pausing the
 * current async job meanwhile (or blocking, outside a job).  work runs on the worker
 * thread; it must not touch the caller's error queue.
 */
typedef int simaccel_work_fn(void *arg);
int simaccel_offload(const struct simaccel_provctx *prov, simaccel_work_fn *work, void *arg);
/* One acquire per provider instance: starts the worker with the first, and returns the
   device's library context (NULL on failure).  The last release stops and joins the
   worker, then frees that context. */
OSSL_LIB_CTX *simaccel_device_acquire(void);
void simaccel_device_release(void);

extern const OSSL_DISPATCH simaccel_keymgmt_ec_functions[];
extern const OSSL_DISPATCH simaccel_keymgmt_rsa_functions[];
extern const OSSL_DISPATCH simaccel_signature_ecdsa_functions[];
extern const OSSL_DISPATCH simaccel_signature_rsa_functions[];

#endif
