"""Socket-mode data calls: as much as the socket allows, in one C call (``recv_available``, ``send_available``).

The native asyncio TLS transport (``aio/_tls_transport.py``) lets OpenSSL own the
non-blocking socket (``SSL_set_fd``). The loop only says "readable" or "writable"; each
such event is then one of these calls, which reads or writes until the socket would
block, so Python runs once per readiness event, not once per TLS record.

Rules (the Python methods rely on them):

1. Only outside ``SSL_MODE_ASYNC``: a paused job would keep the caller's buffer (the guard
   gives MODE_ASYNC its own memory, one chunk per call); refused with
   ``ASYNCSSL_GUARD_UNDER_MODE_ASYNC``.
2. The result is two numbers in one: what was moved (a count, the low 32 bits; callers
   pass at most INT_MAX bytes) and why it stopped (the bits above): 0 when the buffer was
   filled / all was written, else the ``SSL_get_error`` code or a guard code. One return
   value, no out-parameter a second thread could write into. Bytes moved before a failure
   are never lost: the caller gets the count and handles the failure after using them.
3. A read stops once OpenSSL holds no more buffered input (``SSL_has_pending``): the
   next recv() would most likely find the socket empty, and a level-triggered loop
   calls again if it is not. That saves a failing recv() per event on request/response
   traffic; with read-ahead on, one recv() takes several records.
"""

INCLUDES = ""

TYPES = ""

FUNCTIONS = """
long long asyncssl_guarded_recv_available(asyncssl_guard *, char *, size_t);
long long asyncssl_guarded_send_available(asyncssl_guard *, const char *, size_t);
void SSL_set_read_ahead(SSL *, int);
void SSL_set_default_read_buffer_len(SSL *, size_t);
"""

CUSTOMIZATIONS = """
#define SOCKIO_RESULT(moved, why) ((long long)(moved) | ((long long)(why) << 32))

static int sockio_enter(asyncssl_guard *g, int op)
{
    int code = guard_begin(g, op, 0);
    if (code)
        return code;
    if (guard_async_mode(g)) {
        asyncssl_guard_leave(g);
        return ASYNCSSL_GUARD_UNDER_MODE_ASYNC;
    }
    return 0;
}

/* SSL_read_ex into `out` until it is full, OpenSSL has nothing buffered, or a failure. */
long long asyncssl_guarded_recv_available(asyncssl_guard *g, char *out, size_t cap)
{
    size_t got = 0;
    long r;
    int why = 0, code = sockio_enter(g, ASYNCSSL_JOB_READ);

    if (code)
        return SOCKIO_RESULT(0, code);
    while (got < cap) {
        r = asyncssl_recv(g->ssl, out + got, cap - got);
        if (r < 0) {
            why = (int)-r;
            break;
        }
        got += (size_t)r;
        if (!SSL_has_pending(g->ssl)) {
            why = SSL_ERROR_WANT_READ;   /* most likely: the loop calls again if not */
            break;
        }
    }
    code = guard_end(g, ASYNCSSL_JOB_READ, 0);
    return SOCKIO_RESULT(got, code ? code : why);
}

/* SSL_write_ex from `buf` until all `n` bytes are taken or a failure (usually WANT_WRITE:
   the socket is full). With ENABLE_PARTIAL_WRITE each SSL_write_ex takes what fitted. */
long long asyncssl_guarded_send_available(asyncssl_guard *g, const char *buf, size_t n)
{
    size_t put = 0;
    long r;
    int why = 0, code = sockio_enter(g, ASYNCSSL_JOB_WRITE);

    if (code)
        return SOCKIO_RESULT(0, code);
    while (put < n) {
        r = asyncssl_send(g->ssl, buf + put, n - put);
        if (r < 0) {
            why = (int)-r;
            break;
        }
        put += (size_t)r;
    }
    code = guard_end(g, ASYNCSSL_JOB_WRITE, 0);
    return SOCKIO_RESULT(put, code ? code : why);
}
"""
