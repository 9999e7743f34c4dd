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
"""

CUSTOMIZATIONS = """
#if !defined(OPENSSL_NO_DTLS) && !defined(OPENSSL_NO_SOCK)
static const long ASYNCSSL_HAS_DTLS = 1;
#else
static const long ASYNCSSL_HAS_DTLS = 0;
#endif
"""
