"""Native QUIC: client (3.2+), streams, termination, the value API (3.3+), server (3.5+)."""

INCLUDES = """
#include <openssl/ssl.h>
"""

TYPES = """
static const long ASYNCSSL_HAS_QUIC_CLIENT;
static const long ASYNCSSL_HAS_QUIC_SERVER;
static const long ASYNCSSL_HAS_VALUE_API;
static const long ASYNCSSL_HAS_WRITE_EX2;

typedef struct { uint64_t quic_error_code; const char *quic_reason; ...; } SSL_SHUTDOWN_EX_ARGS;
typedef struct { uint64_t quic_error_code; ...; } SSL_STREAM_RESET_ARGS;
typedef struct {
    uint64_t error_code;
    uint64_t frame_type;
    const char *reason;
    size_t reason_len;
    uint32_t flags;
    ...;
} SSL_CONN_CLOSE_INFO;

static const uint64_t SSL_STREAM_FLAG_UNI;
static const uint64_t SSL_STREAM_FLAG_NO_BLOCK;
static const uint64_t SSL_STREAM_FLAG_ADVANCE;
static const uint64_t SSL_ACCEPT_STREAM_NO_BLOCK;
static const uint32_t SSL_DEFAULT_STREAM_MODE_NONE;
static const uint32_t SSL_DEFAULT_STREAM_MODE_AUTO_BIDI;
static const uint32_t SSL_DEFAULT_STREAM_MODE_AUTO_UNI;
static const int SSL_INCOMING_STREAM_POLICY_AUTO;
static const int SSL_INCOMING_STREAM_POLICY_ACCEPT;
static const int SSL_INCOMING_STREAM_POLICY_REJECT;
static const int SSL_STREAM_TYPE_NONE;
static const int SSL_STREAM_TYPE_READ;
static const int SSL_STREAM_TYPE_WRITE;
static const int SSL_STREAM_TYPE_BIDI;
static const int SSL_STREAM_STATE_NONE;
static const int SSL_STREAM_STATE_OK;
static const int SSL_STREAM_STATE_WRONG_DIR;
static const int SSL_STREAM_STATE_FINISHED;
static const int SSL_STREAM_STATE_RESET_LOCAL;
static const int SSL_STREAM_STATE_RESET_REMOTE;
static const int SSL_STREAM_STATE_CONN_CLOSED;
static const uint64_t SSL_SHUTDOWN_FLAG_RAPID;
static const uint64_t SSL_SHUTDOWN_FLAG_NO_STREAM_FLUSH;
static const uint64_t SSL_SHUTDOWN_FLAG_NO_BLOCK;
static const uint64_t SSL_SHUTDOWN_FLAG_WAIT_PEER;
static const uint32_t SSL_CONN_CLOSE_FLAG_LOCAL;
static const uint32_t SSL_CONN_CLOSE_FLAG_TRANSPORT;
static const uint64_t SSL_WRITE_FLAG_CONCLUDE;

static const uint32_t SSL_VALUE_CLASS_GENERIC;
static const uint32_t SSL_VALUE_CLASS_FEATURE_REQUEST;
static const uint32_t SSL_VALUE_CLASS_FEATURE_PEER_REQUEST;
static const uint32_t SSL_VALUE_CLASS_FEATURE_NEGOTIATED;
static const uint32_t SSL_VALUE_NONE;
static const uint32_t SSL_VALUE_QUIC_STREAM_BIDI_LOCAL_AVAIL;
static const uint32_t SSL_VALUE_QUIC_STREAM_BIDI_REMOTE_AVAIL;
static const uint32_t SSL_VALUE_QUIC_STREAM_UNI_LOCAL_AVAIL;
static const uint32_t SSL_VALUE_QUIC_STREAM_UNI_REMOTE_AVAIL;
static const uint32_t SSL_VALUE_QUIC_IDLE_TIMEOUT;
static const uint32_t SSL_VALUE_EVENT_HANDLING_MODE;
static const uint32_t SSL_VALUE_STREAM_WRITE_BUF_SIZE;
static const uint32_t SSL_VALUE_STREAM_WRITE_BUF_USED;
static const uint32_t SSL_VALUE_STREAM_WRITE_BUF_AVAIL;
static const uint64_t SSL_VALUE_EVENT_HANDLING_MODE_INHERIT;
static const uint64_t SSL_VALUE_EVENT_HANDLING_MODE_IMPLICIT;
static const uint64_t SSL_VALUE_EVENT_HANDLING_MODE_EXPLICIT;

static const uint64_t SSL_LISTENER_FLAG_NO_VALIDATE;
static const uint64_t SSL_ACCEPT_CONNECTION_NO_BLOCK;
static const uint64_t SSL_DOMAIN_FLAG_SINGLE_THREAD;
static const uint64_t SSL_DOMAIN_FLAG_MULTI_THREAD;
static const uint64_t SSL_DOMAIN_FLAG_THREAD_ASSISTED;
static const uint64_t SSL_DOMAIN_FLAG_BLOCKING;
static const uint64_t SSL_DOMAIN_FLAG_LEGACY_BLOCKING;

static const uint64_t OSSL_QUIC_ERR_NO_ERROR;
static const uint64_t OSSL_QUIC_ERR_INTERNAL_ERROR;
static const uint64_t OSSL_QUIC_ERR_APPLICATION_ERROR;
static const uint64_t OSSL_QUIC_ERR_CRYPTO_ERR_BEGIN;
static const uint64_t OSSL_QUIC_ERR_CRYPTO_ERR_END;
static const uint64_t OSSL_QUIC_LOCAL_ERR_IDLE_TIMEOUT;
"""

FUNCTIONS = """
/* 3.2: client, streams, termination */
const SSL_METHOD *OSSL_QUIC_client_method(void);
const SSL_METHOD *OSSL_QUIC_client_thread_method(void);
int SSL_is_quic(const SSL *);
int SSL_is_tls(const SSL *);
int SSL_is_dtls(const SSL *);
int SSL_set1_initial_peer_addr(SSL *, const BIO_ADDR *);
SSL *SSL_new_stream(SSL *, uint64_t);
SSL *SSL_accept_stream(SSL *, uint64_t);
size_t SSL_get_accept_stream_queue_len(SSL *);
int SSL_set_default_stream_mode(SSL *, uint32_t);
int SSL_set_incoming_stream_policy(SSL *, int, uint64_t);
uint64_t SSL_get_stream_id(SSL *);
int SSL_get_stream_type(SSL *);
int SSL_is_stream_local(SSL *);
int SSL_stream_conclude(SSL *, uint64_t);
int SSL_stream_reset(SSL *, const SSL_STREAM_RESET_ARGS *, size_t);
int SSL_get_stream_read_state(SSL *);
int SSL_get_stream_write_state(SSL *);
int SSL_get_stream_read_error_code(SSL *, uint64_t *);
int SSL_get_stream_write_error_code(SSL *, uint64_t *);
int SSL_shutdown_ex(SSL *, uint64_t, const SSL_SHUTDOWN_EX_ARGS *, size_t);
int SSL_get_conn_close_info(SSL *, SSL_CONN_CLOSE_INFO *, size_t);
SSL *SSL_get0_connection(SSL *);
int SSL_is_connection(SSL *);
int SSL_inject_net_dgram(SSL *, const unsigned char *, size_t, const BIO_ADDR *, const BIO_ADDR *);
int SSL_get_handshake_rtt(const SSL *, uint64_t *);

/* 3.3 */
int SSL_write_ex2(SSL *, const void *, size_t, uint64_t, size_t *);
int SSL_get_value_uint(SSL *, uint32_t, uint32_t, uint64_t *);
int SSL_set_value_uint(SSL *, uint32_t, uint32_t, uint64_t);

/* 3.5: server, listener, domain */
const SSL_METHOD *OSSL_QUIC_server_method(void);
SSL *SSL_new_listener(SSL_CTX *, uint64_t);
SSL *SSL_new_listener_from(SSL *, uint64_t);
SSL *SSL_new_from_listener(SSL *, uint64_t);
int SSL_listen(SSL *);
SSL *SSL_accept_connection(SSL *, uint64_t);
size_t SSL_get_accept_connection_queue_len(SSL *);
int SSL_is_listener(SSL *);
SSL *SSL_get0_listener(SSL *);
SSL *SSL_new_domain(SSL_CTX *, uint64_t);
int SSL_is_domain(SSL *);
SSL *SSL_get0_domain(SSL *);
int SSL_CTX_set_domain_flags(SSL_CTX *, uint64_t);
int SSL_CTX_get_domain_flags(const SSL_CTX *, uint64_t *);
int SSL_get_domain_flags(const SSL *, uint64_t *);
/* Called when the stack pre-creates a server connection, before SSL_accept_connection:
   asyncssl attaches the Python Connection there, so TLS callbacks (ALPN, verify, SNI)
   that run during the handshake find it. */
void SSL_CTX_set_new_pending_conn_cb(SSL_CTX *, int (*)(SSL_CTX *, SSL *, void *), void *);
extern "Python" int asyncssl_new_pending_conn_cb(SSL_CTX *, SSL *, void *);   /* via asyncssl_entry_new_pending_conn_cb */
"""

CUSTOMIZATIONS = """
#if ASYNCSSL_QUIC_ENABLED
static const long ASYNCSSL_HAS_QUIC_CLIENT = 1;
#else
static const long ASYNCSSL_HAS_QUIC_CLIENT = 0;
typedef struct ssl_shutdown_ex_args_st { uint64_t quic_error_code; const char *quic_reason; } SSL_SHUTDOWN_EX_ARGS;
typedef struct ssl_stream_reset_args_st { uint64_t quic_error_code; } SSL_STREAM_RESET_ARGS;
typedef struct ssl_conn_close_info_st {
    uint64_t error_code, frame_type; const char *reason; size_t reason_len; uint32_t flags;
} SSL_CONN_CLOSE_INFO;
#define SSL_STREAM_FLAG_UNI (1U << 0)
#define SSL_STREAM_FLAG_NO_BLOCK (1U << 1)
#define SSL_STREAM_FLAG_ADVANCE (1U << 2)
#define SSL_ACCEPT_STREAM_NO_BLOCK (1U << 0)
#define SSL_DEFAULT_STREAM_MODE_NONE 0
#define SSL_DEFAULT_STREAM_MODE_AUTO_BIDI 1
#define SSL_DEFAULT_STREAM_MODE_AUTO_UNI 2
#define SSL_INCOMING_STREAM_POLICY_AUTO 0
#define SSL_INCOMING_STREAM_POLICY_ACCEPT 1
#define SSL_INCOMING_STREAM_POLICY_REJECT 2
#define SSL_STREAM_TYPE_NONE 0
#define SSL_STREAM_TYPE_READ 1
#define SSL_STREAM_TYPE_WRITE 2
#define SSL_STREAM_TYPE_BIDI 3
#define SSL_STREAM_STATE_NONE 0
#define SSL_STREAM_STATE_OK 1
#define SSL_STREAM_STATE_WRONG_DIR 2
#define SSL_STREAM_STATE_FINISHED 3
#define SSL_STREAM_STATE_RESET_LOCAL 4
#define SSL_STREAM_STATE_RESET_REMOTE 5
#define SSL_STREAM_STATE_CONN_CLOSED 6
#define SSL_SHUTDOWN_FLAG_RAPID (1U << 0)
#define SSL_SHUTDOWN_FLAG_NO_STREAM_FLUSH (1U << 1)
#define SSL_SHUTDOWN_FLAG_NO_BLOCK (1U << 2)
#define SSL_SHUTDOWN_FLAG_WAIT_PEER (1U << 3)
#define SSL_CONN_CLOSE_FLAG_LOCAL (1U << 0)
#define SSL_CONN_CLOSE_FLAG_TRANSPORT (1U << 1)
#define OSSL_QUIC_ERR_NO_ERROR 0x00
#define OSSL_QUIC_ERR_INTERNAL_ERROR 0x01
#define OSSL_QUIC_ERR_APPLICATION_ERROR 0x0C
#define OSSL_QUIC_ERR_CRYPTO_ERR_BEGIN 0x0100
#define OSSL_QUIC_ERR_CRYPTO_ERR_END 0x01FF
#define OSSL_QUIC_LOCAL_ERR_IDLE_TIMEOUT ((uint64_t)0xFFFFFFFFFFFFFFFFULL)
static const SSL_METHOD *(*OSSL_QUIC_client_method)(void) = NULL;
static const SSL_METHOD *(*OSSL_QUIC_client_thread_method)(void) = NULL;
static int (*SSL_is_quic)(const SSL *) = NULL;
static int (*SSL_is_tls)(const SSL *) = NULL;
static int (*SSL_set1_initial_peer_addr)(SSL *, const BIO_ADDR *) = NULL;
static SSL *(*SSL_new_stream)(SSL *, uint64_t) = NULL;
static SSL *(*SSL_accept_stream)(SSL *, uint64_t) = NULL;
static size_t (*SSL_get_accept_stream_queue_len)(SSL *) = NULL;
static int (*SSL_set_default_stream_mode)(SSL *, uint32_t) = NULL;
static int (*SSL_set_incoming_stream_policy)(SSL *, int, uint64_t) = NULL;
static uint64_t (*SSL_get_stream_id)(SSL *) = NULL;
static int (*SSL_get_stream_type)(SSL *) = NULL;
static int (*SSL_is_stream_local)(SSL *) = NULL;
static int (*SSL_stream_conclude)(SSL *, uint64_t) = NULL;
static int (*SSL_stream_reset)(SSL *, const SSL_STREAM_RESET_ARGS *, size_t) = NULL;
static int (*SSL_get_stream_read_state)(SSL *) = NULL;
static int (*SSL_get_stream_write_state)(SSL *) = NULL;
static int (*SSL_get_stream_read_error_code)(SSL *, uint64_t *) = NULL;
static int (*SSL_get_stream_write_error_code)(SSL *, uint64_t *) = NULL;
static int (*SSL_shutdown_ex)(SSL *, uint64_t, const SSL_SHUTDOWN_EX_ARGS *, size_t) = NULL;
static int (*SSL_get_conn_close_info)(SSL *, SSL_CONN_CLOSE_INFO *, size_t) = NULL;
static SSL *(*SSL_get0_connection)(SSL *) = NULL;
static int (*SSL_is_connection)(SSL *) = NULL;
static int (*SSL_inject_net_dgram)(SSL *, const unsigned char *, size_t, const BIO_ADDR *, const BIO_ADDR *) = NULL;
static int (*SSL_get_handshake_rtt)(const SSL *, uint64_t *) = NULL;
#endif

#if ASYNCSSL_QUIC_ENABLED && defined(SSL_WRITE_FLAG_CONCLUDE)
static const long ASYNCSSL_HAS_WRITE_EX2 = 1;
#else
static const long ASYNCSSL_HAS_WRITE_EX2 = 0;
#define SSL_WRITE_FLAG_CONCLUDE (1U << 0)
static int (*SSL_write_ex2)(SSL *, const void *, size_t, uint64_t, size_t *) = NULL;
#endif

#if ASYNCSSL_QUIC_ENABLED && defined(SSL_VALUE_CLASS_GENERIC)
static const long ASYNCSSL_HAS_VALUE_API = 1;
#else
static const long ASYNCSSL_HAS_VALUE_API = 0;
#define SSL_VALUE_CLASS_GENERIC 0
#define SSL_VALUE_CLASS_FEATURE_REQUEST 1
#define SSL_VALUE_CLASS_FEATURE_PEER_REQUEST 2
#define SSL_VALUE_CLASS_FEATURE_NEGOTIATED 3
#define SSL_VALUE_NONE 0
#define SSL_VALUE_QUIC_STREAM_BIDI_LOCAL_AVAIL 1
#define SSL_VALUE_QUIC_STREAM_BIDI_REMOTE_AVAIL 2
#define SSL_VALUE_QUIC_STREAM_UNI_LOCAL_AVAIL 3
#define SSL_VALUE_QUIC_STREAM_UNI_REMOTE_AVAIL 4
#define SSL_VALUE_QUIC_IDLE_TIMEOUT 5
#define SSL_VALUE_EVENT_HANDLING_MODE 6
#define SSL_VALUE_STREAM_WRITE_BUF_SIZE 7
#define SSL_VALUE_STREAM_WRITE_BUF_USED 8
#define SSL_VALUE_STREAM_WRITE_BUF_AVAIL 9
#define SSL_VALUE_EVENT_HANDLING_MODE_INHERIT 0
#define SSL_VALUE_EVENT_HANDLING_MODE_IMPLICIT 1
#define SSL_VALUE_EVENT_HANDLING_MODE_EXPLICIT 2
static int (*SSL_get_value_uint)(SSL *, uint32_t, uint32_t, uint64_t *) = NULL;
static int (*SSL_set_value_uint)(SSL *, uint32_t, uint32_t, uint64_t) = NULL;
#endif

#if ASYNCSSL_QUIC_ENABLED && defined(SSL_LISTENER_FLAG_NO_VALIDATE)
static const long ASYNCSSL_HAS_QUIC_SERVER = 1;
#else
static const long ASYNCSSL_HAS_QUIC_SERVER = 0;
#define SSL_LISTENER_FLAG_NO_VALIDATE (1UL << 1)
#define SSL_ACCEPT_CONNECTION_NO_BLOCK (1UL << 0)
#define SSL_DOMAIN_FLAG_SINGLE_THREAD (1U << 0)
#define SSL_DOMAIN_FLAG_MULTI_THREAD (1U << 1)
#define SSL_DOMAIN_FLAG_THREAD_ASSISTED (1U << 2)
#define SSL_DOMAIN_FLAG_BLOCKING (1U << 3)
#define SSL_DOMAIN_FLAG_LEGACY_BLOCKING (1U << 4)
static const SSL_METHOD *(*OSSL_QUIC_server_method)(void) = NULL;
static SSL *(*SSL_new_listener)(SSL_CTX *, uint64_t) = NULL;
static SSL *(*SSL_new_listener_from)(SSL *, uint64_t) = NULL;
static SSL *(*SSL_new_from_listener)(SSL *, uint64_t) = NULL;
static int (*SSL_listen)(SSL *) = NULL;
static SSL *(*SSL_accept_connection)(SSL *, uint64_t) = NULL;
static size_t (*SSL_get_accept_connection_queue_len)(SSL *) = NULL;
static int (*SSL_is_listener)(SSL *) = NULL;
static SSL *(*SSL_get0_listener)(SSL *) = NULL;
static SSL *(*SSL_new_domain)(SSL_CTX *, uint64_t) = NULL;
static int (*SSL_is_domain)(SSL *) = NULL;
static SSL *(*SSL_get0_domain)(SSL *) = NULL;
static int (*SSL_CTX_set_domain_flags)(SSL_CTX *, uint64_t) = NULL;
static int (*SSL_CTX_get_domain_flags)(const SSL_CTX *, uint64_t *) = NULL;
static int (*SSL_get_domain_flags)(const SSL *, uint64_t *) = NULL;
static void (*SSL_CTX_set_new_pending_conn_cb)(SSL_CTX *, int (*)(SSL_CTX *, SSL *, void *), void *) = NULL;
#endif
"""
