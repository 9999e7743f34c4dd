"""Fused memory-BIO calls: one C call per direction per message (``Connection.encrypt``, ``decrypt_into``).

An application that moves ciphertext itself makes, per message, an ``SSL_write_ex`` and a
``BIO_read_ex`` on the sending side and a ``BIO_write_ex`` and an ``SSL_read_ex`` on the
receiving side: four Python calls, each with its own argument checks, guard entry and GIL
release. Here each side is one call that enters the guard once.

Rules (the Python methods rely on them):

1. Only outside ``SSL_MODE_ASYNC``: a paused job would have to keep the caller's buffers
   (``guard.py`` gives MODE_ASYNC its own memory); the fused calls refuse with
   ``ASYNCSSL_GUARD_UNDER_MODE_ASYNC`` instead. ``send``/``recv``/``bio_*`` work there.
2. ``encrypt`` drains the network BIO only when all of the plaintext was taken: otherwise
   the ciphertext made so far stays in the BIO for ``bio_read``, so nothing is lost when
   Python raises.
3. "Nothing yet" is a return value, not an error: ``decrypt`` returns 0 for
   ``SSL_ERROR_WANT_READ``.
"""

INCLUDES = ""

TYPES = ""

FUNCTIONS = """
long asyncssl_guarded_encrypt(asyncssl_guard *, const char *, size_t, char *, size_t, size_t *);
long asyncssl_guarded_decrypt(asyncssl_guard *, const char *, size_t, char *, size_t);
"""

CUSTOMIZATIONS = """
/* Enter for a fused call; 0, or the refusal code (the guard is then not entered). */
static int fused_enter(asyncssl_guard *g)
{
    int code = guard_begin(g, ASYNCSSL_JOB_WRITE, 0);
    if (code)
        return code;
    if (guard_async_mode(g) || g->into == NULL || g->from == NULL) {
        asyncssl_guard_leave(g);
        return ASYNCSSL_GUARD_UNDER_MODE_ASYNC;   /* memory BIOs are checked in Python first */
    }
    return 0;
}

/* SSL_write_ex all `n` bytes, then move what the network BIO holds into `out` (at most
   `cap`; the rest stays for bio_read). Returns the ciphertext bytes in `out`, or a negated
   SSL_ERROR_x / guard code: then *taken says how much of `buf` was taken before the
   failure, and nothing was drained. */
long asyncssl_guarded_encrypt(asyncssl_guard *g, const char *buf, size_t n, char *out, size_t cap, size_t *taken_out)
{
    size_t taken = 0, got = 0;
    long r = 0;
    int code;

    *taken_out = 0;
    code = fused_enter(g);
    if (code)
        return -(long)code;
    while (taken < n) {   /* a memory BIO never blocks: one round, unless the TLS state machine wants input */
        r = asyncssl_send(g->ssl, buf + taken, n - taken);
        if (r < 0)
            break;
        taken += (size_t)r;
        r = 0;
    }
    *taken_out = taken;
    if (r == 0 && cap > 0 && BIO_ctrl_pending(g->from) > 0 && BIO_read_ex(g->from, out, cap, &got))
        r = (long)got;
    code = guard_end(g, ASYNCSSL_JOB_WRITE, 0);
    return code ? -(long)code : r;
}

/* BIO_write_ex all `n` ciphertext bytes, then SSL_read_ex at most `cap` plaintext bytes
   into `out`. Returns the plaintext bytes (0: no whole record yet), or a negated
   SSL_ERROR_x, or a negated guard code (ASYNCSSL_GUARD_NO_MEMORY: the BIO refused the bytes). */
long asyncssl_guarded_decrypt(asyncssl_guard *g, const char *in, size_t n, char *out, size_t cap)
{
    long r = 0;
    int code = fused_enter(g);
    if (code)
        return -(long)code;
    if (n > 0 && asyncssl_bio_put(g->into, in, n) != (long)n)
        r = -(long)ASYNCSSL_GUARD_NO_MEMORY;   /* a memory BIO refuses only when it cannot grow */
    if (r == 0) {
        r = asyncssl_recv(g->ssl, out, cap);
        if (r == -(long)SSL_ERROR_WANT_READ)
            r = 0;
    }
    code = guard_end(g, ASYNCSSL_JOB_WRITE, 0);
    return code ? -(long)code : r;
}
"""
