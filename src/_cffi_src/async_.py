"""Asynchronous crypto offload: SSL_MODE_ASYNC support calls, ASYNC_JOB and ASYNC_WAIT_CTX."""

INCLUDES = """
#include <openssl/async.h>
#include <openssl/ssl.h>
"""

TYPES = """
static const long ASYNCSSL_HAS_ASYNC_MEM_FUNCTIONS;

typedef ... ASYNC_JOB;
typedef ... ASYNC_WAIT_CTX;
typedef int OSSL_ASYNC_FD;
typedef int (*ASYNC_callback_fn)(void *);
typedef int (*SSL_async_callback_fn)(SSL *, void *);

static const int ASYNC_ERR;
static const int ASYNC_NO_JOBS;
static const int ASYNC_PAUSE;
static const int ASYNC_FINISH;
static const int ASYNC_STATUS_UNSUPPORTED;
static const int ASYNC_STATUS_ERR;
static const int ASYNC_STATUS_OK;
static const int ASYNC_STATUS_EAGAIN;
"""

FUNCTIONS = """
int SSL_waiting_for_async(SSL *);
int SSL_get_all_async_fds(SSL *, OSSL_ASYNC_FD *, size_t *);
int SSL_get_changed_async_fds(SSL *, OSSL_ASYNC_FD *, size_t *, OSSL_ASYNC_FD *, size_t *);
int SSL_get_async_status(SSL *, int *);
int SSL_CTX_set_async_callback(SSL_CTX *, SSL_async_callback_fn);
int SSL_CTX_set_async_callback_arg(SSL_CTX *, void *);
int SSL_set_async_callback(SSL *, SSL_async_callback_fn);
int SSL_set_async_callback_arg(SSL *, void *);

int ASYNC_is_capable(void);
int ASYNC_init_thread(size_t, size_t);
void ASYNC_cleanup_thread(void);
int ASYNC_start_job(ASYNC_JOB **, ASYNC_WAIT_CTX *, int *, int (*)(void *), void *, size_t);
int ASYNC_pause_job(void);
ASYNC_JOB *ASYNC_get_current_job(void);
ASYNC_WAIT_CTX *ASYNC_get_wait_ctx(ASYNC_JOB *);
void ASYNC_block_pause(void);
void ASYNC_unblock_pause(void);

ASYNC_WAIT_CTX *ASYNC_WAIT_CTX_new(void);
void ASYNC_WAIT_CTX_free(ASYNC_WAIT_CTX *);
int ASYNC_WAIT_CTX_get_all_fds(ASYNC_WAIT_CTX *, OSSL_ASYNC_FD *, size_t *);
int ASYNC_WAIT_CTX_get_changed_fds(ASYNC_WAIT_CTX *, OSSL_ASYNC_FD *, size_t *, OSSL_ASYNC_FD *, size_t *);
int ASYNC_WAIT_CTX_set_callback(ASYNC_WAIT_CTX *, ASYNC_callback_fn, void *);
int ASYNC_WAIT_CTX_get_callback(ASYNC_WAIT_CTX *, ASYNC_callback_fn *, void **);
int ASYNC_WAIT_CTX_set_status(ASYNC_WAIT_CTX *, int);
int ASYNC_WAIT_CTX_get_status(ASYNC_WAIT_CTX *);

/* Python side of the async-completion callbacks. They may run on a provider's thread. */
extern "Python" int asyncssl_async_cb(SSL *, void *);
extern "Python" int asyncssl_wait_ctx_cb(void *);
"""

CUSTOMIZATIONS = """
#if ASYNCSSL_OPENSSL_320_OR_GREATER
static const long ASYNCSSL_HAS_ASYNC_MEM_FUNCTIONS = 1;
#else
static const long ASYNCSSL_HAS_ASYNC_MEM_FUNCTIONS = 0;
#endif
"""
