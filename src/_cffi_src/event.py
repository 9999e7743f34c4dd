"""The event API of OpenSSL 3.2+: SSL_handle_events, timeouts, poll descriptors, blocking mode.

On older headers the names are stubbed and stripped from ``lib`` at import; the Python
layer falls back to the DTLS timer calls where OpenSSL documents that equivalence.
"""

INCLUDES = """
#include <openssl/ssl.h>
#include <openssl/bio.h>
"""

TYPES = """
static const long ASYNCSSL_HAS_EVENT_API;

static const int BIO_POLL_DESCRIPTOR_TYPE_NONE;
static const int BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD;
static const int BIO_POLL_DESCRIPTOR_TYPE_SSL;
static const int BIO_POLL_DESCRIPTOR_CUSTOM_START;

/* The union member is read through asyncssl_get_rpoll_fd/asyncssl_get_wpoll_fd (glue), because its
   members differ between 3.2 and 3.3. */
typedef struct { uint32_t type; ...; } BIO_POLL_DESCRIPTOR;
"""

FUNCTIONS = """
int SSL_handle_events(SSL *);
int SSL_get_event_timeout(SSL *, struct timeval *, int *);
int SSL_get_rpoll_descriptor(SSL *, BIO_POLL_DESCRIPTOR *);
int SSL_get_wpoll_descriptor(SSL *, BIO_POLL_DESCRIPTOR *);
int SSL_net_read_desired(SSL *);
int SSL_net_write_desired(SSL *);
int SSL_set_blocking_mode(SSL *, int);
int SSL_get_blocking_mode(SSL *);
int BIO_get_rpoll_descriptor(BIO *, BIO_POLL_DESCRIPTOR *);
int BIO_get_wpoll_descriptor(BIO *, BIO_POLL_DESCRIPTOR *);
"""

CUSTOMIZATIONS = """
#if ASYNCSSL_OPENSSL_320_OR_GREATER
static const long ASYNCSSL_HAS_EVENT_API = 1;
#ifndef BIO_POLL_DESCRIPTOR_TYPE_SSL
#define BIO_POLL_DESCRIPTOR_TYPE_SSL 2
#endif
#else
static const long ASYNCSSL_HAS_EVENT_API = 0;
#define BIO_POLL_DESCRIPTOR_TYPE_NONE 0
#define BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD 1
#define BIO_POLL_DESCRIPTOR_TYPE_SSL 2
#define BIO_POLL_DESCRIPTOR_CUSTOM_START 8192
typedef struct bio_poll_descriptor_st {
    uint32_t type;
    union { int fd; void *custom; uintptr_t custom_ui; SSL *ssl; } value;
} BIO_POLL_DESCRIPTOR;
static int (*SSL_handle_events)(SSL *) = NULL;
static int (*SSL_get_event_timeout)(SSL *, struct timeval *, int *) = NULL;
static int (*SSL_get_rpoll_descriptor)(SSL *, BIO_POLL_DESCRIPTOR *) = NULL;
static int (*SSL_get_wpoll_descriptor)(SSL *, BIO_POLL_DESCRIPTOR *) = NULL;
static int (*SSL_net_read_desired)(SSL *) = NULL;
static int (*SSL_net_write_desired)(SSL *) = NULL;
static int (*SSL_set_blocking_mode)(SSL *, int) = NULL;
static int (*SSL_get_blocking_mode)(SSL *) = NULL;
static int (*BIO_get_rpoll_descriptor)(BIO *, BIO_POLL_DESCRIPTOR *) = NULL;
static int (*BIO_get_wpoll_descriptor)(BIO *, BIO_POLL_DESCRIPTOR *) = NULL;
#endif
"""
