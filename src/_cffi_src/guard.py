"""The in-call guard: one small C object per wrapped ``SSL*`` that owns it and knows who is inside.

Why C: cffi releases the GIL around every call, so two Python threads really do run
OpenSSL on one object at once, and a callback can re-enter the object it was called
from.  The guard decides, with one atomic compare-and-swap on the hot path and no
Python, whether a call may go in; it frees the ``SSL*`` in exactly one place.

State (one 64-bit word, changed only with __atomic builtins):

- the number of calls inside (low 16 bits);
- SHARED: concurrent calls are allowed (QUIC: OpenSSL locks internally). Otherwise the
  object is EXCLUSIVE (TLS/DTLS, which OpenSSL does not make thread-safe): a second
  thread gets ASYNCSSL_GUARD_BUSY -- it is refused, not made to wait, because waiting
  would deadlock the ordinary "blocking recv in one thread, send in another" pattern;
- FREE_REQUESTED (close() or the Python object was dropped), JOB_PAUSED (an async job
  is paused on the SSL*: it must not be freed before the job finished), DROPPED (Python
  no longer holds the guard), PARKED (on the reaper's list), FREEING/FREED.

Which thread is inside comes from a thread-local stack of the guards this thread has
entered: a call that finds its guard there is a re-entry from one of the object's own
callbacks.  ``ASYNCSSL_ENTER_DRIVE`` calls (I/O, handshake, shutdown, BIO I/O, close's
state-machine work) refuse re-entry with ASYNCSSL_GUARD_REENTERED; ``ASYNCSSL_ENTER_ACCESS``
calls (getters and setters that neither free nor drive the state machine) allow it.

The paused async job (MODE_ASYNC) is part of the same state: which operation paused
(handshake, read, peek, write, shutdown) and on which thread.  Thread identities are
``asyncssl_thread_tag()`` values, never reused in a process (a pthread_t or a Python
thread ident is reused by the next thread, and an OpenSSL job must be finished on the
thread that started it: its fibre returns into that thread's async context).  The job
reads and writes memory the guard owns (``jbuf``), never the caller's buffer, so a paused
write keeps exactly the bytes it was given and a paused read never writes into a buffer
the caller has dropped.  A guard dropped or closed with a job paused is parked; the
reaper (``asyncssl_guard_reap``, called from Python at reap points) resumes each parked
job on its own thread and frees what finished.
"""

INCLUDES = """
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/async.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

typedef struct asyncssl_guard asyncssl_guard;
"""

TYPES = """
typedef ... asyncssl_guard;

/* asyncssl_guard_new flags */
static const int ASYNCSSL_GUARD_SHARED;
static const int ASYNCSSL_GUARD_BORROWED;

/* asyncssl_guard_enter kinds */
static const int ASYNCSSL_ENTER_DRIVE;
static const int ASYNCSSL_ENTER_ACCESS;

/* Why a call was refused (the hot-path helpers return them negated, the handshake and
   shutdown helpers as they are); all are above every SSL_ERROR_* code. */
static const int ASYNCSSL_GUARD_CLOSED;
static const int ASYNCSSL_GUARD_REENTERED;
static const int ASYNCSSL_GUARD_BUSY;
static const int ASYNCSSL_GUARD_TOO_DEEP;
static const int ASYNCSSL_GUARD_JOB_OTHER_OP;
static const int ASYNCSSL_GUARD_JOB_OTHER_THREAD;
static const int ASYNCSSL_GUARD_JOB_OTHER_DATA;
static const int ASYNCSSL_GUARD_JOB_SHORTER;
static const int ASYNCSSL_GUARD_CLOSED_DURING;
static const int ASYNCSSL_GUARD_NO_MEMORY;
static const int ASYNCSSL_GUARD_IN_QUIC_CALLBACK;
static const int ASYNCSSL_GUARD_UNDER_MODE_ASYNC;
static const int ASYNCSSL_GUARD_MIN_CODE;

/* asyncssl_guarded_bio_put/get failures other than -1 (negated) */
static const int ASYNCSSL_BIO_WANT_READ;
static const int ASYNCSSL_BIO_WANT_WRITE;

/* The operation an async job was paused in (asyncssl_guard_job_op) */
static const int ASYNCSSL_JOB_NONE;
static const int ASYNCSSL_JOB_HANDSHAKE;
static const int ASYNCSSL_JOB_READ;
static const int ASYNCSSL_JOB_PEEK;
static const int ASYNCSSL_JOB_WRITE;
static const int ASYNCSSL_JOB_SHUTDOWN;

/* MODE_ASYNC reads and writes go through guard-owned memory, at most this much per call. */
static const size_t ASYNCSSL_ASYNC_CHUNK;
"""

FUNCTIONS = """
asyncssl_guard *asyncssl_guard_new(SSL *, int);
void asyncssl_guard_set_bios(asyncssl_guard *, BIO *, BIO *);
void asyncssl_guard_adopt(asyncssl_guard *);
void asyncssl_guard_drop(asyncssl_guard *);
int asyncssl_guard_close(asyncssl_guard *);
int asyncssl_guard_enter(asyncssl_guard *, int);
void asyncssl_guard_leave(asyncssl_guard *);
int asyncssl_guard_is_closed(asyncssl_guard *);
int asyncssl_guard_job_op(asyncssl_guard *);
int asyncssl_guard_entered_here(asyncssl_guard *);
int asyncssl_guard_thread_depth(void);
int asyncssl_guard_reap(void);
int asyncssl_guard_parked(void);
uint64_t asyncssl_thread_tag(void);

/* Hot-path helpers: the ssl.py helpers of the same name without `guarded_`, run inside
   the guard (enter, async-job checks, the call, job bookkeeping, leave). */
int asyncssl_guarded_do_handshake(asyncssl_guard *);
int asyncssl_guarded_shutdown(asyncssl_guard *, int *);
long asyncssl_guarded_send(asyncssl_guard *, const char *, size_t);
long asyncssl_guarded_recv(asyncssl_guard *, char *, size_t);
long asyncssl_poll_ready(asyncssl_guard **, size_t, uint64_t, size_t *);
long asyncssl_guarded_peek(asyncssl_guard *, char *, size_t);
long asyncssl_guarded_bio_put(asyncssl_guard *, const char *, size_t);
long asyncssl_guarded_bio_get(asyncssl_guard *, char *, size_t);
"""

CUSTOMIZATIONS = """
#define ASYNCSSL_GUARD_SHARED 1
#define ASYNCSSL_GUARD_BORROWED 2

#define ASYNCSSL_ENTER_DRIVE 0
#define ASYNCSSL_ENTER_ACCESS 1

#define ASYNCSSL_GUARD_MIN_CODE 1001
#define ASYNCSSL_GUARD_CLOSED 1001
#define ASYNCSSL_GUARD_REENTERED 1002
#define ASYNCSSL_GUARD_BUSY 1003
#define ASYNCSSL_GUARD_TOO_DEEP 1004
#define ASYNCSSL_GUARD_JOB_OTHER_OP 1005
#define ASYNCSSL_GUARD_JOB_OTHER_THREAD 1006
#define ASYNCSSL_GUARD_JOB_OTHER_DATA 1007
#define ASYNCSSL_GUARD_JOB_SHORTER 1008
#define ASYNCSSL_GUARD_CLOSED_DURING 1009
#define ASYNCSSL_GUARD_NO_MEMORY 1010
#define ASYNCSSL_GUARD_IN_QUIC_CALLBACK 1011
#define ASYNCSSL_GUARD_UNDER_MODE_ASYNC 1012   /* a fused call (fused.py) under MODE_ASYNC */

#define ASYNCSSL_BIO_WANT_READ 2
#define ASYNCSSL_BIO_WANT_WRITE 3

#define ASYNCSSL_JOB_NONE 0
#define ASYNCSSL_JOB_HANDSHAKE 1
#define ASYNCSSL_JOB_READ 2
#define ASYNCSSL_JOB_PEEK 3
#define ASYNCSSL_JOB_WRITE 4
#define ASYNCSSL_JOB_SHUTDOWN 5

#define ASYNCSSL_ASYNC_CHUNK ((size_t)65536)

/* the state word */
#define G_COUNT          ((uint64_t)0xFFFF)
#define G_SHARED         ((uint64_t)1 << 16)
#define G_FREE_REQUESTED ((uint64_t)1 << 17)
#define G_JOB_PAUSED     ((uint64_t)1 << 18)
#define G_DROPPED        ((uint64_t)1 << 19)
#define G_PARKED         ((uint64_t)1 << 20)
#define G_FREEING        ((uint64_t)1 << 21)
#define G_FREED          ((uint64_t)1 << 22)
#define G_BORROWED       ((uint64_t)1 << 23)

struct asyncssl_guard {
    uint64_t state;
    SSL *ssl;                 /* owned: one reference, released in guard_settle only */
    BIO *into, *from;         /* memory BIOs (owned by ssl), or NULL */
    /* The paused async job; written only by a thread inside an EXCLUSIVE guard. */
    int job_op;
    uint64_t job_thread;
    unsigned char *jbuf;      /* the memory every MODE_ASYNC read/write is given */
    size_t jbuf_cap;
    size_t job_len;           /* write: bytes handed to the job; read: bytes asked of it */
    asyncssl_guard *next_parked;
};

/* --- thread identity and the thread's stack of entered guards ---------------------- */

#define ASYNCSSL_GUARD_DEPTH 32

static uint64_t asyncssl_thread_tags = 0;
static __thread uint64_t asyncssl_my_tag = 0;
/* One thread-local object: one TLS lookup per access in a dlopen'ed module. */
static __thread struct { int n; asyncssl_guard *g[ASYNCSSL_GUARD_DEPTH]; } asyncssl_entered;

uint64_t asyncssl_thread_tag(void)
{
    if (asyncssl_my_tag == 0)
        asyncssl_my_tag = __atomic_add_fetch(&asyncssl_thread_tags, 1, __ATOMIC_RELAXED);
    return asyncssl_my_tag;
}

int asyncssl_guard_entered_here(asyncssl_guard *g)
{
    int i;
    for (i = asyncssl_entered.n - 1; i >= 0; i--)
        if (asyncssl_entered.g[i] == g)
            return 1;
    return 0;
}

int asyncssl_guard_thread_depth(void) { return asyncssl_entered.n; }

/* --- the parked list: guards whose free waits for a paused job -------------------- */

static pthread_mutex_t asyncssl_parked_lock = PTHREAD_MUTEX_INITIALIZER;
static asyncssl_guard *asyncssl_parked_head = NULL;
static int asyncssl_parked_n = 0;

/* fork() while another thread holds the lock would leave it locked forever in the
   child: hold it across fork (the standard pthread_atfork pattern). */
static void parked_lock_acquire(void) { pthread_mutex_lock(&asyncssl_parked_lock); }
static void parked_lock_release(void) { pthread_mutex_unlock(&asyncssl_parked_lock); }
static pthread_once_t asyncssl_parked_once = PTHREAD_ONCE_INIT;
static void parked_init(void) { pthread_atfork(parked_lock_acquire, parked_lock_release, parked_lock_release); }

static void guard_park(asyncssl_guard *g)
{
    uint64_t old = __atomic_fetch_or(&g->state, G_PARKED, __ATOMIC_ACQ_REL);
    if (old & G_PARKED)
        return;
    pthread_once(&asyncssl_parked_once, parked_init);
    pthread_mutex_lock(&asyncssl_parked_lock);
    g->next_parked = asyncssl_parked_head;
    asyncssl_parked_head = g;
    asyncssl_parked_n++;
    pthread_mutex_unlock(&asyncssl_parked_lock);
}

/* --- the one place that frees ----------------------------------------------------- */

/* Free the SSL* once nothing is inside, a free was requested and no job is paused on
   it; free the guard itself once the SSL* is gone and Python dropped it. A free that
   must wait for a paused job parks the guard for the reaper. */
static void guard_settle(asyncssl_guard *g)
{
    uint64_t old = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (!(old & G_FREE_REQUESTED) || (old & (G_COUNT | G_FREEING | G_FREED)))
            return;
        if (old & (G_JOB_PAUSED | G_PARKED)) {
            if (!(old & G_PARKED))
                guard_park(g);
            return;
        }
        if (__atomic_compare_exchange_n(&g->state, &old, old | G_FREEING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
    }
    if (!(old & G_BORROWED)) {
        if (old & G_SHARED)
            asyncssl_quic_free(g->ssl);   /* QUIC: deferred inside callbacks (reentry.py) */
        else
            SSL_free(g->ssl);   /* frees the memory BIOs too */
    }
    g->ssl = NULL;
    g->into = g->from = NULL;
    free(g->jbuf);
    g->jbuf = NULL;
    old = __atomic_fetch_or(&g->state, G_FREED, __ATOMIC_ACQ_REL);
    if (old & G_DROPPED)
        free(g);   /* Python let go while we were freeing: nobody else will */
}

asyncssl_guard *asyncssl_guard_new(SSL *ssl, int flags)
{
    asyncssl_guard *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->ssl = ssl;
    g->state = ((flags & ASYNCSSL_GUARD_SHARED) ? G_SHARED : 0) | ((flags & ASYNCSSL_GUARD_BORROWED) ? G_BORROWED : 0);
    return g;
}

/* A BORROWED guard (an SSL* OpenSSL lends, e.g. a pending QUIC connection) becomes the
   owner of one reference (the one the caller now holds). */
void asyncssl_guard_adopt(asyncssl_guard *g)
{
    __atomic_fetch_and(&g->state, ~G_BORROWED, __ATOMIC_ACQ_REL);
}

void asyncssl_guard_set_bios(asyncssl_guard *g, BIO *into, BIO *from)
{
    g->into = into;
    g->from = from;
}

/* The ffi.gc destructor: Python holds no reference any more (so no Python caller is
   inside). It may run on any thread, during cyclic GC, with a job paused. */
void asyncssl_guard_drop(asyncssl_guard *g)
{
    uint64_t old = __atomic_fetch_or(&g->state, G_FREE_REQUESTED | G_DROPPED, __ATOMIC_ACQ_REL);
    if (old & G_FREED) {
        free(g);
        return;
    }
    guard_settle(g);
}

/* close(): no new call gets in; the SSL* is freed now if nothing is inside and no job is
   paused, else when the last caller leaves / the reaper finished the job. Returns 1 if
   this was the first close. */
int asyncssl_guard_close(asyncssl_guard *g)
{
    uint64_t old = __atomic_fetch_or(&g->state, G_FREE_REQUESTED, __ATOMIC_ACQ_REL);
    guard_settle(g);
    return !(old & G_FREE_REQUESTED);
}

int asyncssl_guard_is_closed(asyncssl_guard *g)
{
    return (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_FREE_REQUESTED) != 0;
}

int asyncssl_guard_job_op(asyncssl_guard *g)
{
    return (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_JOB_PAUSED) ? g->job_op : ASYNCSSL_JOB_NONE;
}

static int guard_enter(asyncssl_guard *g, int kind, int reaping)
{
    uint64_t old, new;
    int here = -1;   /* unknown until a call is found inside */

    if (asyncssl_entered.n == ASYNCSSL_GUARD_DEPTH)
        return ASYNCSSL_GUARD_TOO_DEEP;
    old = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE);
    /* A QUIC object's I/O takes its engine's mutex, which OpenSSL already holds while it
       runs a TLS callback of a QUIC handshake: from inside one, refuse (a deadlock else).
       Any QUIC object, not only the one in the handshake: they may share the engine. */
    if ((old & G_SHARED) && kind == ASYNCSSL_ENTER_DRIVE && !reaping && asyncssl_in_ssl_callback())
        return ASYNCSSL_GUARD_IN_QUIC_CALLBACK;
    do {
        if ((old & G_FREE_REQUESTED) && !reaping)
            return ASYNCSSL_GUARD_CLOSED;
        if (old & (G_FREEING | G_FREED))
            return ASYNCSSL_GUARD_CLOSED;
        if (old & G_COUNT) {
            if (here < 0)
                here = asyncssl_guard_entered_here(g);
            if (here) {
                if (kind != ASYNCSSL_ENTER_ACCESS)
                    return ASYNCSSL_GUARD_REENTERED;
            } else if (!(old & G_SHARED)) {
                return ASYNCSSL_GUARD_BUSY;
            }
            if ((old & G_COUNT) == G_COUNT)
                return ASYNCSSL_GUARD_BUSY;
        }
        new = old + 1;
    } while (!__atomic_compare_exchange_n(&g->state, &old, new, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    asyncssl_entered.g[asyncssl_entered.n++] = g;
    return 0;
}

int asyncssl_guard_enter(asyncssl_guard *g, int kind)
{
    return guard_enter(g, kind, 0);
}

void asyncssl_guard_leave(asyncssl_guard *g)
{
    int i;
    uint64_t old;

    /* Calls nest, so g is normally on top; search anyway rather than trust it. */
    for (i = asyncssl_entered.n - 1; i >= 0; i--) {
        if (asyncssl_entered.g[i] == g) {
            memmove(&asyncssl_entered.g[i], &asyncssl_entered.g[i + 1],
                    (size_t)(asyncssl_entered.n - 1 - i) * sizeof(asyncssl_entered.g[0]));
            asyncssl_entered.n--;
            break;
        }
    }
    old = __atomic_fetch_sub(&g->state, 1, __ATOMIC_ACQ_REL);
    if ((old & G_COUNT) == 1 && (old & G_FREE_REQUESTED))
        guard_settle(g);
}

/* --- the hot-path helpers ------------------------------------------------------------ */

/* Enter for an operation that OpenSSL may run in an async job. */
static int guard_begin(asyncssl_guard *g, int op, int reaping)
{
    int code = guard_enter(g, ASYNCSSL_ENTER_DRIVE, reaping);
    if (code)
        return code;
    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_JOB_PAUSED) {
        /* OpenSSL resumes the paused job whatever the call: only the operation that
           paused it may continue it, and only on the thread whose async context the
           job's fibre returns into. */
        if (g->job_op != op)
            code = ASYNCSSL_GUARD_JOB_OTHER_OP;
        else if (g->job_thread != asyncssl_thread_tag())
            code = ASYNCSSL_GUARD_JOB_OTHER_THREAD;
        if (code) {
            asyncssl_guard_leave(g);
            return code;
        }
    }
    return 0;
}

/* Record whether the call left a job paused, then leave. Returns `code`, or
   ASYNCSSL_GUARD_CLOSED_DURING when close() or a drop came in during the call. */
static int guard_end(asyncssl_guard *g, int op, int code)
{
    uint64_t state = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE);
    int paused = !(state & G_SHARED) && SSL_waiting_for_async(g->ssl);

    if (paused) {
        g->job_op = op;
        g->job_thread = asyncssl_thread_tag();
        __atomic_fetch_or(&g->state, G_JOB_PAUSED, __ATOMIC_ACQ_REL);
    } else if (state & G_JOB_PAUSED) {
        g->job_op = ASYNCSSL_JOB_NONE;
        __atomic_fetch_and(&g->state, ~G_JOB_PAUSED, __ATOMIC_ACQ_REL);
    }
    if (state & G_FREE_REQUESTED)
        code = ASYNCSSL_GUARD_CLOSED_DURING;
    asyncssl_guard_leave(g);
    return code;
}

/* A job paused before MODE_ASYNC was cleared still reads and writes guard memory. */
static int guard_async_mode(asyncssl_guard *g)
{
    uint64_t state = __atomic_load_n(&g->state, __ATOMIC_ACQUIRE);
    if (state & G_SHARED)
        return 0;
    return (state & G_JOB_PAUSED) || (SSL_get_mode(g->ssl) & SSL_MODE_ASYNC);
}

static int guard_reserve(asyncssl_guard *g, size_t n)
{
    unsigned char *p;
    if (n <= g->jbuf_cap && g->jbuf != NULL)
        return 1;
    p = realloc(g->jbuf, n ? n : 1);
    if (p == NULL)
        return 0;
    g->jbuf = p;
    g->jbuf_cap = n;
    return 1;
}

/* A data call's result: >= 0 bytes, or a negated code. */
static long guard_end_data(asyncssl_guard *g, int op, long r)
{
    int code = guard_end(g, op, 0);
    return code ? -(long)code : r;
}

int asyncssl_guarded_do_handshake(asyncssl_guard *g)
{
    int code = guard_begin(g, ASYNCSSL_JOB_HANDSHAKE, 0);
    if (code)
        return code;
    return guard_end(g, ASYNCSSL_JOB_HANDSHAKE, asyncssl_do_handshake(g->ssl));
}

int asyncssl_guarded_shutdown(asyncssl_guard *g, int *ret)
{
    int code = guard_begin(g, ASYNCSSL_JOB_SHUTDOWN, 0);
    if (code)
        return code;
    return guard_end(g, ASYNCSSL_JOB_SHUTDOWN, asyncssl_shutdown(g->ssl, ret));
}

/* MODE_ASYNC write: the job is handed a copy the guard owns. A retry after a pause
   resumes the job, which sends that copy: so the retry must pass the same bytes. */
static long guard_async_send(asyncssl_guard *g, const char *buf, size_t n)
{
    size_t m;
    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_JOB_PAUSED) {
        if (n < g->job_len || memcmp(buf, g->jbuf, g->job_len) != 0)
            return -(long)ASYNCSSL_GUARD_JOB_OTHER_DATA;
        return asyncssl_send(g->ssl, (const char *)g->jbuf, g->job_len);
    }
    m = n < ASYNCSSL_ASYNC_CHUNK ? n : ASYNCSSL_ASYNC_CHUNK;
    if (!guard_reserve(g, m))
        return -(long)ASYNCSSL_GUARD_NO_MEMORY;
    memcpy(g->jbuf, buf, m);
    g->job_len = m;
    return asyncssl_send(g->ssl, (const char *)g->jbuf, m);
}

long asyncssl_guarded_send(asyncssl_guard *g, const char *buf, size_t n)
{
    long r;
    int code = guard_begin(g, ASYNCSSL_JOB_WRITE, 0);
    if (code)
        return -(long)code;
    r = guard_async_mode(g) ? guard_async_send(g, buf, n) : asyncssl_send(g->ssl, buf, n);
    return guard_end_data(g, ASYNCSSL_JOB_WRITE, r);
}

/* MODE_ASYNC read/peek: the job reads into guard-owned memory, copied out once it
   returned. A retry after a pause must offer room for what the job was asked for. */
static long guard_async_read(asyncssl_guard *g, int op, char *buf, size_t n)
{
    long r;
    long (*read)(SSL *, char *, size_t) = op == ASYNCSSL_JOB_PEEK ? asyncssl_peek : asyncssl_recv;

    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_JOB_PAUSED) {
        if (n < g->job_len)
            return -(long)ASYNCSSL_GUARD_JOB_SHORTER;
    } else {
        size_t m = n < ASYNCSSL_ASYNC_CHUNK ? n : ASYNCSSL_ASYNC_CHUNK;
        if (!guard_reserve(g, m))
            return -(long)ASYNCSSL_GUARD_NO_MEMORY;
        g->job_len = m;
    }
    r = read(g->ssl, (char *)g->jbuf, g->job_len);
    if (r > 0)
        memcpy(buf, g->jbuf, (size_t)r);
    return r;
}

static long guard_read(asyncssl_guard *g, int op, char *buf, size_t n)
{
    long r;
    int code = guard_begin(g, op, 0);
    if (code)
        return -(long)code;
    if (guard_async_mode(g))
        r = guard_async_read(g, op, buf, n);
    else
        r = op == ASYNCSSL_JOB_PEEK ? asyncssl_peek(g->ssl, buf, n) : asyncssl_recv(g->ssl, buf, n);
    return guard_end_data(g, op, r);
}

long asyncssl_guarded_recv(asyncssl_guard *g, char *buf, size_t n) { return guard_read(g, ASYNCSSL_JOB_READ, buf, n); }
long asyncssl_guarded_peek(asyncssl_guard *g, char *buf, size_t n) { return guard_read(g, ASYNCSSL_JOB_PEEK, buf, n); }

/* Memory-BIO I/O: no async job, but the BIOs belong to the SSL* and race with its I/O.
   A failure is explained here, while the BIO certainly exists: -ASYNCSSL_BIO_WANT_READ,
   -ASYNCSSL_BIO_WANT_WRITE, or -1 (see the error queue). */
static long guard_bio_failure(BIO *b)
{
    if (b != NULL && BIO_should_retry(b)) {
        if (BIO_should_read(b))
            return -(long)ASYNCSSL_BIO_WANT_READ;
        if (BIO_should_write(b))
            return -(long)ASYNCSSL_BIO_WANT_WRITE;
    }
    return -1;
}

long asyncssl_guarded_bio_put(asyncssl_guard *g, const char *buf, size_t n)
{
    long r;
    int code = guard_enter(g, ASYNCSSL_ENTER_DRIVE, 0);
    if (code)
        return -(long)code;
    r = g->into != NULL ? asyncssl_bio_put(g->into, buf, n) : -1;
    if (r < 0)
        r = guard_bio_failure(g->into);
    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_FREE_REQUESTED)
        r = -(long)ASYNCSSL_GUARD_CLOSED_DURING;
    asyncssl_guard_leave(g);
    return r;
}

long asyncssl_guarded_bio_get(asyncssl_guard *g, char *buf, size_t n)
{
    long r;
    int code = guard_enter(g, ASYNCSSL_ENTER_DRIVE, 0);
    if (code)
        return -(long)code;
    r = g->from != NULL ? asyncssl_bio_get(g->from, buf, n) : -1;
    if (r < 0)
        r = guard_bio_failure(g->from);
    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_FREE_REQUESTED)
        r = -(long)ASYNCSSL_GUARD_CLOSED_DURING;
    asyncssl_guard_leave(g);
    return r;
}

/* --- the reaper --------------------------------------------------------------------- */

/* Resume a parked guard's job once, with the operation that paused it; 1 when the job
   is no longer paused. Only on the job's own thread. */
static int guard_resume_parked(asyncssl_guard *g)
{
    int op = g->job_op, ret;
    if (guard_begin(g, op, 1) != 0)
        return 0;
    switch (op) {
    case ASYNCSSL_JOB_HANDSHAKE: (void)asyncssl_do_handshake(g->ssl); break;
    case ASYNCSSL_JOB_SHUTDOWN:  (void)asyncssl_shutdown(g->ssl, &ret); break;
    case ASYNCSSL_JOB_WRITE:     (void)asyncssl_send(g->ssl, (const char *)g->jbuf, g->job_len); break;
    case ASYNCSSL_JOB_PEEK:      (void)asyncssl_peek(g->ssl, (char *)g->jbuf, g->job_len); break;
    default:                     (void)asyncssl_recv(g->ssl, (char *)g->jbuf, g->job_len); break;
    }
    ERR_clear_error();   /* the abandoned operation's outcome has no one to report to */
    (void)guard_end(g, op, 0);
    return !(__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) & G_JOB_PAUSED);
}

/* Resume the parked jobs this thread started; free those that finished. Returns how
   many guards are still parked (on all threads). The list lock is not held while a job
   runs: a resumed handshake can call Python callbacks, which may park or reap. Jobs of
   threads that have exited can never be resumed (their fibre would return into a freed
   async context): those SSL*s stay allocated -- a bounded leak instead of a crash. */
int asyncssl_guard_reap(void)
{
    asyncssl_guard **link, *g, *mine = NULL, *still = NULL;
    uint64_t me = asyncssl_thread_tag();
    int left;

    pthread_mutex_lock(&asyncssl_parked_lock);
    link = &asyncssl_parked_head;
    while ((g = *link) != NULL) {
        if (g->job_thread == me) {
            *link = g->next_parked;
            asyncssl_parked_n--;
            g->next_parked = mine;
            mine = g;
        } else {
            link = &g->next_parked;
        }
    }
    pthread_mutex_unlock(&asyncssl_parked_lock);

    while ((g = mine) != NULL) {
        mine = g->next_parked;
        if (guard_resume_parked(g)) {
            __atomic_fetch_and(&g->state, ~G_PARKED, __ATOMIC_ACQ_REL);
            guard_settle(g);
        } else {
            g->next_parked = still;
            still = g;
        }
    }

    pthread_mutex_lock(&asyncssl_parked_lock);
    while ((g = still) != NULL) {
        still = g->next_parked;
        g->next_parked = asyncssl_parked_head;
        asyncssl_parked_head = g;
        asyncssl_parked_n++;
    }
    left = asyncssl_parked_n;
    pthread_mutex_unlock(&asyncssl_parked_lock);
    return left;
}

int asyncssl_guard_parked(void)
{
    int n;
    pthread_mutex_lock(&asyncssl_parked_lock);
    n = asyncssl_parked_n;
    pthread_mutex_unlock(&asyncssl_parked_lock);
    return n;
}

/* --- which of many QUIC objects have news (the aio port's idle connections) --------- */

/* SSL_poll, zero timeout, no event handling, over the objects of `guards`, in batches
   that fit the thread's stack of entered guards (each object is inside its guard while
   SSL_poll looks at it, so no close() can free it meanwhile). Writes the indices of the
   objects with any of `events` (or F) to ready[] and returns how many; an object whose
   guard refuses (closed, or the stack is full) is reported too, so that its owner finds
   out why with an ordinary call. -1 when the linked OpenSSL has no SSL_poll. */
long asyncssl_poll_ready(asyncssl_guard **guards, size_t n, uint64_t events, size_t *ready)
{
#if ASYNCSSL_SSL_POLL_ENABLED
    enum { BATCH = 16 };
    SSL_POLL_ITEM items[BATCH];
    size_t idx[BATCH];
    long count = 0;
    size_t i = 0, j, k, result;
    struct timeval tv;

    while (i < n) {
        for (k = 0; i < n && k < BATCH; i++) {
            if (guard_enter(guards[i], ASYNCSSL_ENTER_ACCESS, 0) != 0) {
                ready[count++] = i;
                continue;
            }
            asyncssl_poll_item_set(&items[k], guards[i]->ssl, events);
            idx[k++] = i;
        }
        if (k == 0)
            continue;
        tv.tv_sec = 0;
        tv.tv_usec = 0;
        result = 0;
        if (!SSL_poll(items, k, sizeof(items[0]), &tv, SSL_POLL_FLAG_NO_HANDLE_EVENTS, &result) && result == 0) {
            ERR_clear_error();
            for (j = 0; j < k; j++)
                items[j].revents = SSL_POLL_EVENT_F;   /* a usage error: let the owners look */
        }
        for (j = 0; j < k; j++) {
            if (items[j].revents & (events | SSL_POLL_EVENT_F))
                ready[count++] = idx[j];
            asyncssl_guard_leave(guards[idx[j]]);
        }
    }
    ERR_clear_error();
    return count;
#else
    (void)guards; (void)n; (void)events; (void)ready;
    return -1;
#endif
}
"""
