"""C job functions for asynchronous crypto offload (asyncssl.aio.sign).

Python never runs on an async job's stack (32 KiB, no guard page before OpenSSL 3.2):
the job function is C.  Python prepares the key, digest context and buffers, then only
starts and resumes the job (ASYNC_start_job) and waits between resumes.
"""

INCLUDES = """
#include <openssl/async.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

struct asyncssl_sign_job {
    EVP_MD_CTX *mdctx;
    const unsigned char *data;
    size_t datalen;
    unsigned char *sig;
    size_t siglen;
    int ok;
};
"""

TYPES = """
/* One EVP_DigestSign inside an async job; everything is prepared before the job starts. */
struct asyncssl_sign_job {
    EVP_MD_CTX *mdctx;
    const unsigned char *data;
    size_t datalen;
    unsigned char *sig;
    size_t siglen;    /* in: the buffer's size; out: the signature's length */
    int ok;
};
"""

FUNCTIONS = """
int asyncssl_start_sign_job(ASYNC_JOB **, ASYNC_WAIT_CTX *, int *, struct asyncssl_sign_job *);
int asyncssl_resume_paused_job(SSL *);
"""

CUSTOMIZATIONS = """
#include <openssl/err.h>

static int asyncssl_sign_job_main(void *arg)
{
    struct asyncssl_sign_job *j = *(struct asyncssl_sign_job **)arg;

    j->ok = EVP_DigestSign(j->mdctx, j->sig, &j->siglen, j->data, j->datalen) > 0;
    return j->ok;
}

/* Start (*job == NULL) or resume the sign job.  ASYNC_start_job copies the argument
   (here: the pointer to the job's description) when it starts, and ignores it on resume. */
int asyncssl_start_sign_job(ASYNC_JOB **job, ASYNC_WAIT_CTX *ctx, int *ret, struct asyncssl_sign_job *j)
{
    return ASYNC_start_job(job, ctx, ret, asyncssl_sign_job_main, &j, sizeof(j));
}

/* Resume the async job paused on `s` once, for a Connection that was dropped while the
   job was paused (its owner will never repeat the call).  Any I/O entry point that
   reaches ssl_start_async_job resumes the paused job whatever job it is, and ignores
   its own arguments; pick one whose early checks cannot return before that point.
   Returns 1 when no job is paused any more. */
int asyncssl_resume_paused_job(SSL *s)
{
    unsigned char unused;
    size_t n;

    if (!SSL_waiting_for_async(s))
        return 1;
    if (SSL_in_init(s) || SSL_in_before(s))
        (void)SSL_do_handshake(s);
    else if (SSL_get_shutdown(s) & SSL_RECEIVED_SHUTDOWN)
        (void)SSL_shutdown(s);
    else
        (void)SSL_read_ex(s, &unused, 1, &n);
    ERR_clear_error(); /* the abandoned operation's outcome has no one to report to */
    return !SSL_waiting_for_async(s);
}
"""
