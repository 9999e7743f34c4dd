/*
 * simaccel: a simulated crypto accelerator, as an OpenSSL 3 provider.
 *
 * It offers ECDSA and RSA (PKCS#1 v1.5 and PSS) signatures -- what TLS 1.2 and 1.3
 * handshakes sign and verify with -- and delegates the math to OpenSSL's default
 * provider.  Like a hardware accelerator's provider, it pauses the calling async job
 * (SSL_MODE_ASYNC, ASYNC_start_job) until a worker thread -- the "device" -- has
 * completed the operation after a configurable latency, and signals completion through
 * the job's ASYNC_WAIT_CTX: the wait ctx callback when one is set, else a wait fd.
 * Outside an async job it completes synchronously, after the same latency.
 *
 * The same sources are built twice: into asyncssl's cffi extension (registered with
 * OSSL_PROVIDER_add_builtin, configured with simaccel_configure) and as a loadable
 * provider module exporting OSSL_provider_init (configured from the environment:
 * SIMACCEL_LATENCY, SIMACCEL_FAIL_EVERY, SIMACCEL_EAGAIN_EVERY, SIMACCEL_TRACE).
 */
#ifndef SIMACCEL_H
#define SIMACCEL_H

#include <openssl/core.h>

#define SIMACCEL_NAME "simaccel"

/*
 * The property query that makes a library context prefer simaccel's signatures but
 * not its key managers.  Signatures declare "simaccel.sign=yes"; the key managers
 * declare "simaccel.keys=yes" and an undeclared property counts as "no", so the
 * default provider's key managers keep winning key generation and decoding (simaccel
 * only imports keys that are exported to it for signing).
 */
#define SIMACCEL_PREFERENCE "?simaccel.sign=yes,?simaccel.keys=no"

struct simaccel_stats {
    unsigned long operations;             /* sign/verify operations submitted */
    unsigned long completed;              /* ... that finished (success or failure) */
    unsigned long failures;               /* ... that failed (injected or real) */
    unsigned long eagains;                /* submissions refused with ASYNC_STATUS_EAGAIN */
    unsigned long pauses;                 /* ASYNC_pause_job calls that returned */
    unsigned long spurious_resumes;       /* resumes that found the operation unfinished */
    unsigned long fd_notifications;       /* completions signalled through the wait fd */
    unsigned long callback_notifications; /* completions signalled through the wait ctx callback */
    unsigned long sync_operations;        /* operations run outside an async job */
};

/* One simulated device per loaded image: these settings are process-wide. */
void simaccel_configure(double latency, unsigned fail_every, unsigned eagain_every);
void simaccel_get_stats(struct simaccel_stats *out);
void simaccel_reset_stats(void);

/* In the child of fork(), from a normal context (not the pthread_atfork handler): give the
   device its worker thread back. Without it the worker restarts at the next submission. */
void simaccel_after_fork_child(void);

/* Append one line per operation to this file (NULL: stop tracing). */
void simaccel_set_trace_file(const char *path);

OSSL_provider_init_fn simaccel_provider_init;

#endif
