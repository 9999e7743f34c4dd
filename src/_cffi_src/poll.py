"""SSL_poll (3.3+; blocking from 3.5) over QUIC listeners, connections and streams."""

INCLUDES = """
#include <openssl/ssl.h>
"""

TYPES = """
static const long ASYNCSSL_HAS_SSL_POLL;
static const long ASYNCSSL_HAS_BLOCKING_SSL_POLL;

typedef struct { BIO_POLL_DESCRIPTOR desc; uint64_t events; uint64_t revents; ...; } SSL_POLL_ITEM;

static const uint64_t SSL_POLL_FLAG_NO_HANDLE_EVENTS;
static const uint64_t SSL_POLL_EVENT_NONE;
static const uint64_t SSL_POLL_EVENT_F;
static const uint64_t SSL_POLL_EVENT_EL;
static const uint64_t SSL_POLL_EVENT_EC;
static const uint64_t SSL_POLL_EVENT_ECD;
static const uint64_t SSL_POLL_EVENT_ER;
static const uint64_t SSL_POLL_EVENT_EW;
static const uint64_t SSL_POLL_EVENT_R;
static const uint64_t SSL_POLL_EVENT_W;
static const uint64_t SSL_POLL_EVENT_IC;
static const uint64_t SSL_POLL_EVENT_ISB;
static const uint64_t SSL_POLL_EVENT_ISU;
static const uint64_t SSL_POLL_EVENT_OSB;
static const uint64_t SSL_POLL_EVENT_OSU;
static const uint64_t SSL_POLL_EVENT_RW;
static const uint64_t SSL_POLL_EVENT_RE;
static const uint64_t SSL_POLL_EVENT_WE;
static const uint64_t SSL_POLL_EVENT_RWE;
static const uint64_t SSL_POLL_EVENT_E;
static const uint64_t SSL_POLL_EVENT_IS;
static const uint64_t SSL_POLL_EVENT_ISE;
static const uint64_t SSL_POLL_EVENT_I;
static const uint64_t SSL_POLL_EVENT_OS;
static const uint64_t SSL_POLL_EVENT_OSE;
"""

FUNCTIONS = """
int SSL_poll(SSL_POLL_ITEM *, size_t, size_t, const struct timeval *, uint64_t, size_t *);
"""

CUSTOMIZATIONS = """
#if defined(SSL_POLL_FLAG_NO_HANDLE_EVENTS)
#define ASYNCSSL_SSL_POLL_ENABLED 1
#else
#define ASYNCSSL_SSL_POLL_ENABLED 0
typedef struct ssl_poll_item_st { BIO_POLL_DESCRIPTOR desc; uint64_t events, revents; } SSL_POLL_ITEM;
#define SSL_POLL_FLAG_NO_HANDLE_EVENTS (1U << 0)
#define SSL_POLL_EVENT_NONE 0
#define SSL_POLL_EVENT_F (1U << 0)
#define SSL_POLL_EVENT_EL (1U << 1)
#define SSL_POLL_EVENT_EC (1U << 2)
#define SSL_POLL_EVENT_ECD (1U << 3)
#define SSL_POLL_EVENT_ER (1U << 4)
#define SSL_POLL_EVENT_EW (1U << 5)
#define SSL_POLL_EVENT_R (1U << 6)
#define SSL_POLL_EVENT_W (1U << 7)
#define SSL_POLL_EVENT_IC (1U << 8)
#define SSL_POLL_EVENT_ISB (1U << 9)
#define SSL_POLL_EVENT_ISU (1U << 10)
#define SSL_POLL_EVENT_OSB (1U << 11)
#define SSL_POLL_EVENT_OSU (1U << 12)
#define SSL_POLL_EVENT_RW (SSL_POLL_EVENT_R | SSL_POLL_EVENT_W)
#define SSL_POLL_EVENT_RE (SSL_POLL_EVENT_R | SSL_POLL_EVENT_ER)
#define SSL_POLL_EVENT_WE (SSL_POLL_EVENT_W | SSL_POLL_EVENT_EW)
#define SSL_POLL_EVENT_RWE (SSL_POLL_EVENT_RE | SSL_POLL_EVENT_WE)
#define SSL_POLL_EVENT_E (SSL_POLL_EVENT_EL | SSL_POLL_EVENT_EC | SSL_POLL_EVENT_ER | SSL_POLL_EVENT_EW)
#define SSL_POLL_EVENT_IS (SSL_POLL_EVENT_ISB | SSL_POLL_EVENT_ISU)
#define SSL_POLL_EVENT_ISE (SSL_POLL_EVENT_IS | SSL_POLL_EVENT_EC)
#define SSL_POLL_EVENT_I (SSL_POLL_EVENT_IS | SSL_POLL_EVENT_IC)
#define SSL_POLL_EVENT_OS (SSL_POLL_EVENT_OSB | SSL_POLL_EVENT_OSU)
#define SSL_POLL_EVENT_OSE (SSL_POLL_EVENT_OS | SSL_POLL_EVENT_EC)
static int (*SSL_poll)(SSL_POLL_ITEM *, size_t, size_t, const struct timeval *, uint64_t, size_t *) = NULL;
#endif
/* Before 3.5, SSL_poll fails for any timeout but zero (doc/man3/SSL_poll.pod HISTORY). */
static const long ASYNCSSL_HAS_SSL_POLL = ASYNCSSL_SSL_POLL_ENABLED;
static const long ASYNCSSL_HAS_BLOCKING_SSL_POLL = ASYNCSSL_SSL_POLL_ENABLED && ASYNCSSL_OPENSSL_350_OR_GREATER;
"""
