"""C entry points for OpenSSL's TLS callbacks: each calls its Python callback (the
``extern "Python"`` functions declared in ssl.py) with async-job pausing blocked.

Why: under MODE_ASYNC a handshake runs inside an async job, and so do the callbacks it
makes. If a Python callback starts crypto that an offloading provider pauses (a handshake
on another MODE_ASYNC connection, ``aio.sign``), the pause would suspend the *outer* job
with Python frames on its fibre stack and return to the event loop mid-callback: the
interpreter state no longer matches its stack. With pausing blocked, OpenSSL runs such
nested work synchronously (``ASYNC_block_pause``: the provider completes it without
pausing), and the callback returns normally. Outside a job these calls do nothing.

Register these (``lib.asyncssl_entry_*``) with OpenSSL, never the Python functions.
"""

INCLUDES = ""

TYPES = ""

FUNCTIONS = """
int asyncssl_entry_verify_cb(int, X509_STORE_CTX *);
void asyncssl_entry_info_cb(const SSL *, int, int);
void asyncssl_entry_keylog_cb(const SSL *, const char *);
int asyncssl_entry_servername_cb(SSL *, int *, void *);
int asyncssl_entry_ocsp_cb(SSL *, void *);
int asyncssl_entry_alpn_select_cb(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned int, void *);
int asyncssl_entry_cookie_generate_cb(SSL *, unsigned char *, unsigned int *);
int asyncssl_entry_cookie_verify_cb(SSL *, const unsigned char *, unsigned int);
"""

CUSTOMIZATIONS = """
/* cffi defines the extern "Python" functions after this code: declare them. */
static int asyncssl_verify_cb(int, X509_STORE_CTX *);
static void asyncssl_info_cb(const SSL *, int, int);
static void asyncssl_keylog_cb(const SSL *, const char *);
static int asyncssl_servername_cb(SSL *, int *, void *);
static int asyncssl_ocsp_cb(SSL *, void *);
static int asyncssl_alpn_select_cb(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned int, void *);
static int asyncssl_cookie_generate_cb(SSL *, unsigned char *, unsigned int *);
static int asyncssl_cookie_verify_cb(SSL *, const unsigned char *, unsigned int);

int asyncssl_entry_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_verify_cb(ok, ctx);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}

void asyncssl_entry_info_cb(const SSL *s, int where, int ret)
{
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    asyncssl_info_cb(s, where, ret);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
}

void asyncssl_entry_keylog_cb(const SSL *s, const char *line)
{
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    asyncssl_keylog_cb(s, line);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
}

int asyncssl_entry_servername_cb(SSL *s, int *alert, void *arg)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_servername_cb(s, alert, arg);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}

int asyncssl_entry_ocsp_cb(SSL *s, void *arg)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_ocsp_cb(s, arg);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}

int asyncssl_entry_alpn_select_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                                  const unsigned char *in, unsigned int inlen, void *arg)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_alpn_select_cb(s, out, outlen, in, inlen, arg);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}

int asyncssl_entry_cookie_generate_cb(SSL *s, unsigned char *cookie, unsigned int *len)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_cookie_generate_cb(s, cookie, len);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}

int asyncssl_entry_cookie_verify_cb(SSL *s, const unsigned char *cookie, unsigned int len)
{
    int r;
    ASYNC_block_pause();
    ASYNCSSL_CALLBACK_ENTER();   /* reentry.py: QUIC calls refuse to run in here */
    r = asyncssl_cookie_verify_cb(s, cookie, len);
    ASYNCSSL_CALLBACK_LEAVE();
    ASYNC_unblock_pause();
    return r;
}
"""
