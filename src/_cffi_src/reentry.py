"""Code that runs inside OpenSSL's calls: the callback marker, and QUIC frees that must wait.

OpenSSL runs the TLS callbacks (verify, info, keylog, SNI, ALPN select, and for a QUIC
server the pending-connection callback) in the middle of a handshake. For a QUIC object
that handshake runs with the QUIC engine's mutex held, and that mutex is not recursive:
any QUIC call from inside the callback that takes it again (SSL_handle_events,
SSL_get_event_timeout, SSL_new_stream, SSL_poll, SSL_free of a QUIC object, ...)
deadlocks the thread, or aborts in thread_posix.c (issue 10, fault 4).

So every Python callback is reached through a C entry point that counts, per thread, how
many OpenSSL callbacks are running on it (``asyncssl_in_ssl_callback``): the TLS ones in
callbacks.py, the pending-connection one here. The QUIC object
modules check it before a call that takes the engine lock and raise a clear error
instead. Frees cannot raise (they come from close(), ffi.gc destructors and the garbage
collector, which may run inside a callback): ``asyncssl_quic_free`` queues a free that
would run inside a callback, and ``asyncssl_quic_drain_frees`` does it later, outside.

The same function is the one free of every QUIC ``SSL *`` Python owns. A pending server
connection (made by OpenSSL before ``SSL_accept_connection``, seen in a callback) holds a
reference to its listener as well (``asyncssl_quic_hold_pending``): OpenSSL does not
count one for it, and a listener freed before such a connection leaves it with a freed
engine and mutex (issue 10, fault 3).
"""

INCLUDES = """
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <openssl/ssl.h>
"""

TYPES = """
"""

FUNCTIONS = """
int asyncssl_in_ssl_callback(void);
int asyncssl_quic_may_enter(void);
void asyncssl_quic_free(SSL *);
int asyncssl_quic_deferred_frees(void);
void asyncssl_quic_drain_frees(void);
int asyncssl_quic_hold_pending(SSL *, SSL *);
int asyncssl_quic_mark_owner(SSL *);

/* The pending-connection callback asyncssl registers (the TLS callbacks' entry points,
   asyncssl_entry_*_cb in callbacks.py, count the same way). */
int asyncssl_entry_new_pending_conn_cb(SSL_CTX *, SSL *, void *);
"""

CUSTOMIZATIONS = """
/* cffi defines the extern "Python" functions after this source: declare it first. */
static int asyncssl_new_pending_conn_cb(SSL_CTX *, SSL *, void *);

/* How many OpenSSL callbacks are running on this thread (nested handshakes of other
   objects can nest them). */
static _Thread_local int asyncssl_callback_depth = 0;

int asyncssl_in_ssl_callback(void) { return asyncssl_callback_depth > 0; }

void asyncssl_quic_drain_frees(void);

/* Before a QUIC call that takes the engine lock: 0 inside an OpenSSL callback (the
   caller raises); else 1, after doing the frees queued inside callbacks. One C call. */
int asyncssl_quic_may_enter(void)
{
    if (asyncssl_callback_depth > 0)
        return 0;
    asyncssl_quic_drain_frees();
    return 1;
}

/* Every C entry point OpenSSL calls a Python callback through brackets it with these. */
#define ASYNCSSL_CALLBACK_ENTER() (asyncssl_callback_depth++)
#define ASYNCSSL_CALLBACK_LEAVE() (asyncssl_callback_depth--)

int asyncssl_entry_new_pending_conn_cb(SSL_CTX *ctx, SSL *s, void *arg)
{
    int r;
    ASYNCSSL_CALLBACK_ENTER();
    r = asyncssl_new_pending_conn_cb(ctx, s, arg);
    ASYNCSSL_CALLBACK_LEAVE();
    return r;
}

/* --- the one free of a QUIC SSL* Python owns ------------------------------------------ */

/* ex_data slot of a pending connection: the listener reference it holds (see the module
   docstring). Made once, on first use, under the run-once lock. */
static int asyncssl_held_listener_idx = -1;
static pthread_once_t asyncssl_held_once = PTHREAD_ONCE_INIT;

static void asyncssl_held_init(void)
{
    asyncssl_held_listener_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int asyncssl_quic_hold_pending(SSL *conn, SSL *listener)
{
    pthread_once(&asyncssl_held_once, asyncssl_held_init);
    if (asyncssl_held_listener_idx < 0 || !SSL_up_ref(conn))
        return 0;
    if (!SSL_up_ref(listener)) {
        SSL_free(conn);
        return 0;
    }
    if (!SSL_set_ex_data(conn, asyncssl_held_listener_idx, listener)) {
        SSL_free(listener);
        SSL_free(conn);
        return 0;
    }
    return 1;
}

/* ex_data slot: the pid of the process that made the object. After fork() the child
   must not free what it inherited: freeing a thread-assisted connection waits for an
   assist thread that does not exist in the child (a hang). The child leaks those
   copies instead; the parent still owns and frees the real ones. */
static int asyncssl_owner_pid_idx = -1;
static pthread_once_t asyncssl_owner_once = PTHREAD_ONCE_INIT;
static void asyncssl_owner_init(void)
{
    asyncssl_owner_pid_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int asyncssl_quic_mark_owner(SSL *s)
{
    pthread_once(&asyncssl_owner_once, asyncssl_owner_init);
    return asyncssl_owner_pid_idx >= 0
        && SSL_set_ex_data(s, asyncssl_owner_pid_idx, (void *)(intptr_t)getpid());
}

static void asyncssl_quic_free_now(SSL *s)
{
    SSL *held = NULL;
    if (asyncssl_owner_pid_idx >= 0) {
        intptr_t pid = (intptr_t)SSL_get_ex_data(s, asyncssl_owner_pid_idx);
        if (pid != 0 && pid != (intptr_t)getpid())
            return;   /* inherited through fork(): see asyncssl_quic_mark_owner */
    }
    if (asyncssl_held_listener_idx >= 0) {
        held = SSL_get_ex_data(s, asyncssl_held_listener_idx);
        if (held != NULL)
            SSL_set_ex_data(s, asyncssl_held_listener_idx, NULL);
    }
    SSL_free(s);
    SSL_free(held);   /* after the connection: it may be the listener's last reference */
}

struct asyncssl_deferred { SSL *s; struct asyncssl_deferred *next; };
static pthread_mutex_t asyncssl_deferred_lock = PTHREAD_MUTEX_INITIALIZER;
static struct asyncssl_deferred *asyncssl_deferred_head = NULL;
static int asyncssl_deferred_count = 0;

void asyncssl_quic_free(SSL *s)
{
    struct asyncssl_deferred *d;
    if (s == NULL)
        return;
    if (asyncssl_callback_depth == 0) {
        asyncssl_quic_free_now(s);
        return;
    }
    d = malloc(sizeof(*d));
    if (d == NULL)
        return;   /* out of memory inside a callback: leaking beats deadlocking */
    d->s = s;
    pthread_mutex_lock(&asyncssl_deferred_lock);
    d->next = asyncssl_deferred_head;
    asyncssl_deferred_head = d;
    __atomic_add_fetch(&asyncssl_deferred_count, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&asyncssl_deferred_lock);
}

int asyncssl_quic_deferred_frees(void)
{
    return __atomic_load_n(&asyncssl_deferred_count, __ATOMIC_RELAXED);
}

void asyncssl_quic_drain_frees(void)
{
    struct asyncssl_deferred *d, *next;
    if (asyncssl_callback_depth > 0 || asyncssl_quic_deferred_frees() == 0)
        return;
    pthread_mutex_lock(&asyncssl_deferred_lock);
    d = asyncssl_deferred_head;
    asyncssl_deferred_head = NULL;
    __atomic_store_n(&asyncssl_deferred_count, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&asyncssl_deferred_lock);
    for (; d != NULL; d = next) {
        next = d->next;
        asyncssl_quic_free_now(d->s);
        free(d);
    }
}
"""
