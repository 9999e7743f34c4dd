"""C helpers that must run without Python, or hide version differences in C.

- the async-completion wakeup: a provider thread calls it; it writes one byte to an fd
  with no Python and no GIL on that path;
- the event timeout as a double, with OpenSSL 3.0's DTLS-timer fallback decided here;
- poll descriptors as plain fds (the union's members differ between 3.2 and 3.3);
- larger async-job stacks with a guard page (3.2+), so Python callbacks that run inside
  an async job cannot silently overflow OpenSSL's 32 KiB fibre stacks.
"""

INCLUDES = """
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
"""

TYPES = """
static const int ASYNCSSL_ASYNC_STACKS_ENLARGED;
static const int ASYNCSSL_ASYNC_STACKS_TOO_LATE;
static const int ASYNCSSL_ASYNC_STACKS_UNSUPPORTED;
"""

FUNCTIONS = """
double asyncssl_event_timeout(SSL *);
int asyncssl_handle_events(SSL *);
int asyncssl_get_rpoll_fd(SSL *);
int asyncssl_get_wpoll_fd(SSL *);
void asyncssl_poll_item_set(SSL_POLL_ITEM *, SSL *, uint64_t);

int asyncssl_set_async_wakeup_fd(SSL *, int);
int asyncssl_ctx_set_async_wakeup_fd(SSL_CTX *, int);
int asyncssl_enlarge_async_stacks(size_t);
size_t asyncssl_async_stack_size(void);
"""

CUSTOMIZATIONS = """
/* Seconds until handle_events() is due; -1.0 means no timer (infinite), -2.0 that the call
   failed (error queue). A return value, not an out-parameter: QUIC objects are queried from
   several threads at once, and no buffer has to be allocated or shared for it.
   OpenSSL < 3.2 has no SSL_get_event_timeout: DTLS objects use the DTLS timer (what
   SSL_get_event_timeout does for them in 3.2+), anything else has no timer. */
double asyncssl_event_timeout(SSL *s)
{
    struct timeval tv = {0, 0};
#if ASYNCSSL_OPENSSL_320_OR_GREATER
    int infinite = 0;
    if (!SSL_get_event_timeout(s, &tv, &infinite))
        return -2.0;
    return infinite ? -1.0 : (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
#else
    if (SSL_is_dtls(s) && DTLSv1_get_timeout(s, &tv) > 0)
        return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    return -1.0;
#endif
}

/* SSL_handle_events, or on < 3.2 its documented equivalent: the DTLS timer for DTLS
   objects, nothing for the others. Returns 1 on success, 0 on failure. */
int asyncssl_handle_events(SSL *s)
{
#if ASYNCSSL_OPENSSL_320_OR_GREATER
    return SSL_handle_events(s);
#else
    if (SSL_is_dtls(s))
        return DTLSv1_handle_timeout(s) >= 0;
    return 1;
#endif
}

/* The socket fd behind a poll descriptor, -1 when there is none (type NONE, or a
   descriptor kind that is not a socket), -2 on failure. */
static int asyncssl_poll_fd(int (*get)(SSL *, BIO_POLL_DESCRIPTOR *), SSL *s)
{
#if ASYNCSSL_OPENSSL_320_OR_GREATER
    BIO_POLL_DESCRIPTOR d;
    memset(&d, 0, sizeof(d));
    if (!get(s, &d))
        return -2;
    if (d.type != BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD)
        return -1;
    return d.value.fd;
#else
    (void)get; (void)s;
    return -2;
#endif
}

int asyncssl_get_rpoll_fd(SSL *s) { return asyncssl_poll_fd(SSL_get_rpoll_descriptor, s); }
int asyncssl_get_wpoll_fd(SSL *s) { return asyncssl_poll_fd(SSL_get_wpoll_descriptor, s); }

/* SSL_as_poll_descriptor is a header inline (3.3+), not an exported symbol. */
void asyncssl_poll_item_set(SSL_POLL_ITEM *item, SSL *s, uint64_t events)
{
    memset(item, 0, sizeof(*item));
    item->desc.type = BIO_POLL_DESCRIPTOR_TYPE_SSL;
#if ASYNCSSL_SSL_POLL_ENABLED || !ASYNCSSL_OPENSSL_320_OR_GREATER
    item->desc.value.ssl = s;
#else
    item->desc.value.custom = s;   /* 3.2 has no SSL_poll and no .ssl member */
#endif
    item->events = events;
}

/* --- async completion wakeup: one byte to an fd, from whatever thread completes --- */

static int asyncssl_wakeup_fd_cb(SSL *s, void *arg)
{
    int fd = (int)(intptr_t)arg;
    char byte = 1;
    ssize_t n;
    (void)s;
    do {
        n = write(fd, &byte, 1);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, so a wakeup is already pending; that is enough. */
    return 1;
}

int asyncssl_set_async_wakeup_fd(SSL *s, int fd)
{
    if (fd < 0)
        return SSL_set_async_callback(s, NULL);
    return SSL_set_async_callback(s, asyncssl_wakeup_fd_cb)
        && SSL_set_async_callback_arg(s, (void *)(intptr_t)fd);
}

int asyncssl_ctx_set_async_wakeup_fd(SSL_CTX *ctx, int fd)
{
    if (fd < 0)
        return SSL_CTX_set_async_callback(ctx, NULL);
    return SSL_CTX_set_async_callback(ctx, asyncssl_wakeup_fd_cb)
        && SSL_CTX_set_async_callback_arg(ctx, (void *)(intptr_t)fd);
}

/* --- async job stacks: mmap'd, with a guard page below, sized for Python --- */

#define ASYNCSSL_ASYNC_STACKS_ENLARGED 1
#define ASYNCSSL_ASYNC_STACKS_TOO_LATE 0
#define ASYNCSSL_ASYNC_STACKS_UNSUPPORTED -1

static size_t asyncssl_stack_size = 0;   /* 0: OpenSSL's default 32 KiB stacks */

size_t asyncssl_async_stack_size(void) { return asyncssl_stack_size; }

#if ASYNCSSL_OPENSSL_320_OR_GREATER
static void *asyncssl_stack_alloc(size_t *num)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *base = mmap(NULL, asyncssl_stack_size + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    /* Stacks grow down: an overflow hits this page and faults instead of corrupting
       the heap. */
    if (mprotect(base, page, PROT_NONE) != 0) {
        munmap(base, asyncssl_stack_size + page);
        return NULL;
    }
    *num = asyncssl_stack_size;
    return base + page;
}

static void asyncssl_stack_free(void *addr)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (addr != NULL)
        munmap((char *)addr - page, asyncssl_stack_size + page);
}
#endif

/* Must run before the process's first async job; OpenSSL refuses afterwards. */
int asyncssl_enlarge_async_stacks(size_t size)
{
#if ASYNCSSL_OPENSSL_320_OR_GREATER
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (asyncssl_stack_size != 0)
        return ASYNCSSL_ASYNC_STACKS_ENLARGED;
    asyncssl_stack_size = (size + page - 1) / page * page;
    if (!ASYNC_set_mem_functions(asyncssl_stack_alloc, asyncssl_stack_free)) {
        asyncssl_stack_size = 0;
        return ASYNCSSL_ASYNC_STACKS_TOO_LATE;
    }
    return ASYNCSSL_ASYNC_STACKS_ENLARGED;
#else
    (void)size;
    return ASYNCSSL_ASYNC_STACKS_UNSUPPORTED;
#endif
}
"""
