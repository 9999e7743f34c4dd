"""DTLS: methods, timers, stateless listen and MTU."""

INCLUDES = """
#include <openssl/ssl.h>
#include <openssl/dtls1.h>
"""

TYPES = """
static const long ASYNCSSL_HAS_DTLS;
static const long DTLS_CTRL_GET_TIMEOUT;
static const long DTLS_CTRL_HANDLE_TIMEOUT;
"""

FUNCTIONS = """
const SSL_METHOD *DTLS_method(void);
const SSL_METHOD *DTLS_client_method(void);
const SSL_METHOD *DTLS_server_method(void);

/* Macros over SSL_ctrl, wrapped by cffi. */
long DTLSv1_get_timeout(SSL *, struct timeval *);
long DTLSv1_handle_timeout(SSL *);
int DTLSv1_listen(SSL *, BIO_ADDR *);
size_t DTLS_get_data_mtu(const SSL *);
long DTLS_set_link_mtu(SSL *, long);
long DTLS_get_link_min_mtu(SSL *);
long SSL_set_mtu(SSL *, long);
void DTLS_set_timer_cb(SSL *, unsigned int (*)(SSL *, unsigned int));

/* A C retransmission policy (no Python in the timer path): start at initial_us, double
   on each timeout, cap at 60 s (RFC 6347 s4.2.4.1). Call asyncssl_dtls_timer_init once. */
int asyncssl_dtls_timer_init(void);
int asyncssl_dtls_set_initial_timeout(SSL *, unsigned int);
"""

CUSTOMIZATIONS = """
static int asyncssl_dtls_timer_idx = -1;

int asyncssl_dtls_timer_init(void)
{
    if (asyncssl_dtls_timer_idx < 0)
        asyncssl_dtls_timer_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return asyncssl_dtls_timer_idx >= 0;
}

static unsigned int asyncssl_dtls_timer_cb(SSL *s, unsigned int timer_us)
{
    unsigned int initial = (unsigned int)(uintptr_t)SSL_get_ex_data(s, asyncssl_dtls_timer_idx);
    if (timer_us == 0)
        return initial;
    return timer_us >= 30000000u ? 60000000u : timer_us * 2;
}

int asyncssl_dtls_set_initial_timeout(SSL *s, unsigned int initial_us)
{
    if (asyncssl_dtls_timer_idx < 0 || initial_us == 0
            || !SSL_set_ex_data(s, asyncssl_dtls_timer_idx, (void *)(uintptr_t)initial_us))
        return 0;
    DTLS_set_timer_cb(s, asyncssl_dtls_timer_cb);
    return 1;
}

#if !defined(OPENSSL_NO_DTLS) && !defined(OPENSSL_NO_SOCK)
static const long ASYNCSSL_HAS_DTLS = 1;
#else
static const long ASYNCSSL_HAS_DTLS = 0;
#endif
"""
