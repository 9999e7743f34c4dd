"""libssl: contexts, connections, sessions, callbacks — TLS and the parts DTLS/QUIC share.

Python callbacks are ``extern "Python"`` functions (never ``ffi.callback``); they are
defined with ``@ffi.def_extern()`` in the object modules.
"""

INCLUDES = """
#include <openssl/ssl.h>
#include <openssl/tls1.h>
#include <errno.h>
#include <openssl/err.h>
"""

TYPES = """
typedef ... SSL_METHOD;
typedef ... SSL_CTX;
typedef ... SSL;
typedef ... SSL_SESSION;
typedef ... SSL_CIPHER;
typedef ... Cryptography_STACK_OF_SSL_CIPHER;

static const long SSL_ERROR_NONE;
static const long SSL_ERROR_SSL;
static const long SSL_ERROR_WANT_READ;
static const long SSL_ERROR_WANT_WRITE;
static const long SSL_ERROR_WANT_X509_LOOKUP;
static const long SSL_ERROR_SYSCALL;
static const long SSL_ERROR_ZERO_RETURN;
static const long SSL_ERROR_WANT_CONNECT;
static const long SSL_ERROR_WANT_ACCEPT;
static const long SSL_ERROR_WANT_ASYNC;
static const long SSL_ERROR_WANT_ASYNC_JOB;
static const long SSL_ERROR_WANT_CLIENT_HELLO_CB;
static const long SSL_ERROR_WANT_RETRY_VERIFY;

static const long SSL_VERIFY_NONE;
static const long SSL_VERIFY_PEER;
static const long SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
static const long SSL_VERIFY_CLIENT_ONCE;
static const long SSL_VERIFY_POST_HANDSHAKE;

static const long SSL_SENT_SHUTDOWN;
static const long SSL_RECEIVED_SHUTDOWN;

static const long SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long SSL_MODE_AUTO_RETRY;
static const long SSL_MODE_RELEASE_BUFFERS;
static const long SSL_MODE_NO_AUTO_CHAIN;
static const long SSL_MODE_ASYNC;

static const unsigned long SSL_OP_ALL;
static const unsigned long SSL_OP_NO_SSLv2;
static const unsigned long SSL_OP_NO_SSLv3;
static const unsigned long SSL_OP_NO_TLSv1;
static const unsigned long SSL_OP_NO_TLSv1_1;
static const unsigned long SSL_OP_NO_TLSv1_2;
static const unsigned long SSL_OP_NO_TLSv1_3;
static const unsigned long SSL_OP_NO_DTLSv1;
static const unsigned long SSL_OP_NO_DTLSv1_2;
static const unsigned long SSL_OP_NO_COMPRESSION;
static const unsigned long SSL_OP_NO_TICKET;
static const unsigned long SSL_OP_NO_RENEGOTIATION;
static const unsigned long SSL_OP_CIPHER_SERVER_PREFERENCE;
static const unsigned long SSL_OP_SINGLE_DH_USE;
static const unsigned long SSL_OP_SINGLE_ECDH_USE;
static const unsigned long SSL_OP_NO_QUERY_MTU;
static const unsigned long SSL_OP_COOKIE_EXCHANGE;
static const unsigned long SSL_OP_IGNORE_UNEXPECTED_EOF;
static const unsigned long SSL_OP_ENABLE_MIDDLEBOX_COMPAT;
static const unsigned long SSL_OP_NO_ANTI_REPLAY;
static const unsigned long SSL_OP_LEGACY_SERVER_CONNECT;

static const long SSL_SESS_CACHE_OFF;
static const long SSL_SESS_CACHE_CLIENT;
static const long SSL_SESS_CACHE_SERVER;
static const long SSL_SESS_CACHE_BOTH;
static const long SSL_SESS_CACHE_NO_AUTO_CLEAR;
static const long SSL_SESS_CACHE_NO_INTERNAL_LOOKUP;
static const long SSL_SESS_CACHE_NO_INTERNAL_STORE;
static const long SSL_SESS_CACHE_NO_INTERNAL;

static const int SSL_ST_CONNECT;
static const int SSL_ST_ACCEPT;
static const int SSL_ST_MASK;
static const int SSL_CB_LOOP;
static const int SSL_CB_EXIT;
static const int SSL_CB_READ;
static const int SSL_CB_WRITE;
static const int SSL_CB_ALERT;
static const int SSL_CB_READ_ALERT;
static const int SSL_CB_WRITE_ALERT;
static const int SSL_CB_ACCEPT_LOOP;
static const int SSL_CB_ACCEPT_EXIT;
static const int SSL_CB_CONNECT_LOOP;
static const int SSL_CB_CONNECT_EXIT;
static const int SSL_CB_HANDSHAKE_START;
static const int SSL_CB_HANDSHAKE_DONE;

static const int SSL_NOTHING;
static const int SSL_WRITING;
static const int SSL_READING;
static const int SSL_X509_LOOKUP;
static const int SSL_ASYNC_PAUSED;
static const int SSL_ASYNC_NO_JOBS;

static const int SSL_TLSEXT_ERR_OK;
static const int SSL_TLSEXT_ERR_ALERT_WARNING;
static const int SSL_TLSEXT_ERR_ALERT_FATAL;
static const int SSL_TLSEXT_ERR_NOACK;
static const int TLSEXT_NAMETYPE_host_name;
static const int TLSEXT_STATUSTYPE_ocsp;
static const int OPENSSL_NPN_NEGOTIATED;
static const int OPENSSL_NPN_NO_OVERLAP;

static const int SSL_FILETYPE_PEM;
static const int SSL_FILETYPE_ASN1;

static const int SSL3_VERSION;
static const int TLS1_VERSION;
static const int TLS1_1_VERSION;
static const int TLS1_2_VERSION;
static const int TLS1_3_VERSION;
static const int DTLS1_VERSION;
static const int DTLS1_2_VERSION;

static const int SSL_MAX_SSL_SESSION_ID_LENGTH;
static const int SSL_MAX_SID_CTX_LENGTH;
static const int SSL_R_UNEXPECTED_EOF_WHILE_READING;
static const int SSL_R_CERTIFICATE_VERIFY_FAILED;

/* Added for SSL.Context/Connection (pyOpenSSL parity). */
typedef struct { const char *name; unsigned long id; } SRTP_PROTECTION_PROFILE;
static const int DTLS1_COOKIE_LENGTH;
"""

FUNCTIONS = """
const SSL_METHOD *TLS_method(void);
const SSL_METHOD *TLS_client_method(void);
const SSL_METHOD *TLS_server_method(void);

SSL_CTX *SSL_CTX_new(const SSL_METHOD *);
SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);
void SSL_CTX_free(SSL_CTX *);
int SSL_CTX_up_ref(SSL_CTX *);
const SSL_METHOD *SSL_CTX_get_ssl_method(const SSL_CTX *);

long SSL_CTX_set_mode(SSL_CTX *, long);
long SSL_CTX_clear_mode(SSL_CTX *, long);
long SSL_CTX_get_mode(SSL_CTX *);
uint64_t SSL_CTX_set_options(SSL_CTX *, uint64_t);
uint64_t SSL_CTX_clear_options(SSL_CTX *, uint64_t);
uint64_t SSL_CTX_get_options(const SSL_CTX *);
int SSL_CTX_set_min_proto_version(SSL_CTX *, int);
int SSL_CTX_set_max_proto_version(SSL_CTX *, int);
int SSL_CTX_get_min_proto_version(SSL_CTX *);
int SSL_CTX_get_max_proto_version(SSL_CTX *);
int SSL_CTX_set_cipher_list(SSL_CTX *, const char *);
int SSL_CTX_set_ciphersuites(SSL_CTX *, const char *);
int SSL_CTX_set1_groups_list(SSL_CTX *, const char *);
int SSL_CTX_set1_sigalgs_list(SSL_CTX *, const char *);
long SSL_CTX_set_timeout(SSL_CTX *, long);
long SSL_CTX_get_timeout(const SSL_CTX *);
long SSL_CTX_set_session_cache_mode(SSL_CTX *, long);
long SSL_CTX_get_session_cache_mode(SSL_CTX *);
int SSL_CTX_set_session_id_context(SSL_CTX *, const unsigned char *, unsigned int);
long SSL_CTX_set_tmp_ecdh(SSL_CTX *, EVP_PKEY *);
long SSL_CTX_set_dh_auto(SSL_CTX *, int);
int SSL_CTX_set0_tmp_dh_pkey(SSL_CTX *, EVP_PKEY *);
long SSL_CTX_set_read_ahead(SSL_CTX *, int);

void SSL_CTX_set_verify(SSL_CTX *, int, int (*)(int, X509_STORE_CTX *));
void SSL_CTX_set_verify_depth(SSL_CTX *, int);
int SSL_CTX_get_verify_mode(const SSL_CTX *);
int SSL_CTX_get_verify_depth(const SSL_CTX *);
int SSL_CTX_load_verify_locations(SSL_CTX *, const char *, const char *);
int SSL_CTX_set_default_verify_paths(SSL_CTX *);
int SSL_CTX_set_default_verify_file(SSL_CTX *);
int SSL_CTX_set_default_verify_dir(SSL_CTX *);
X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *);
X509_VERIFY_PARAM *SSL_CTX_get0_param(SSL_CTX *);
void SSL_CTX_set_client_CA_list(SSL_CTX *, Cryptography_STACK_OF_X509_NAME *);
int SSL_CTX_add_client_CA(SSL_CTX *, X509 *);

int SSL_CTX_use_certificate(SSL_CTX *, X509 *);
int SSL_CTX_use_certificate_file(SSL_CTX *, const char *, int);
int SSL_CTX_use_certificate_chain_file(SSL_CTX *, const char *);
long SSL_CTX_add_extra_chain_cert(SSL_CTX *, X509 *);
long SSL_CTX_add0_chain_cert(SSL_CTX *, X509 *);
int SSL_CTX_use_PrivateKey(SSL_CTX *, EVP_PKEY *);
int SSL_CTX_use_PrivateKey_file(SSL_CTX *, const char *, int);
int SSL_CTX_check_private_key(const SSL_CTX *);
void SSL_CTX_set_default_passwd_cb(SSL_CTX *, pem_password_cb *);
void SSL_CTX_set_default_passwd_cb_userdata(SSL_CTX *, void *);
X509 *SSL_CTX_get0_certificate(const SSL_CTX *);

void SSL_CTX_set_info_callback(SSL_CTX *, void (*)(const SSL *, int, int));
void SSL_CTX_set_keylog_callback(SSL_CTX *, void (*)(const SSL *, const char *));
long SSL_CTX_set_tlsext_servername_callback(SSL_CTX *, int (*)(SSL *, int *, void *));
/* OCSP stapling (macros over SSL_CTX_callback_ctrl / SSL_ctrl) */
long SSL_CTX_set_tlsext_status_cb(SSL_CTX *, int (*)(SSL *, void *));
long SSL_set_tlsext_status_type(SSL *, long);
long SSL_get_tlsext_status_ocsp_resp(SSL *, unsigned char **);
long SSL_set_tlsext_status_ocsp_resp(SSL *, unsigned char *, long);
void *OPENSSL_malloc(size_t);
int SSL_CTX_set_alpn_protos(SSL_CTX *, const unsigned char *, unsigned int);
void SSL_CTX_set_alpn_select_cb(SSL_CTX *, int (*)(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned int, void *), void *);
void SSL_CTX_set_cookie_generate_cb(SSL_CTX *, int (*)(SSL *, unsigned char *, unsigned int *));
void SSL_CTX_set_cookie_verify_cb(SSL_CTX *, int (*)(SSL *, const unsigned char *, unsigned int));
int SSL_select_next_proto(unsigned char **, unsigned char *, const unsigned char *, unsigned int, const unsigned char *, unsigned int);

SSL *SSL_new(SSL_CTX *);
void SSL_free(SSL *);
int SSL_up_ref(SSL *);
SSL_CTX *SSL_get_SSL_CTX(const SSL *);
SSL_CTX *SSL_set_SSL_CTX(SSL *, SSL_CTX *);
void SSL_set_bio(SSL *, BIO *, BIO *);
BIO *SSL_get_rbio(const SSL *);
BIO *SSL_get_wbio(const SSL *);
int SSL_set_fd(SSL *, int);
int SSL_get_fd(const SSL *);
void SSL_set_connect_state(SSL *);
void SSL_set_accept_state(SSL *);
int SSL_is_server(const SSL *);
int SSL_do_handshake(SSL *);
int SSL_connect(SSL *);
int SSL_accept(SSL *);
int SSL_read_ex(SSL *, void *, size_t, size_t *);
int SSL_peek_ex(SSL *, void *, size_t, size_t *);
int SSL_write_ex(SSL *, const void *, size_t, size_t *);
int SSL_pending(const SSL *);
int SSL_has_pending(const SSL *);
int SSL_shutdown(SSL *);
int SSL_get_shutdown(const SSL *);
void SSL_set_shutdown(SSL *, int);
int SSL_get_error(const SSL *, int);
int SSL_want(const SSL *);
int SSL_want_read(const SSL *);
int SSL_want_write(const SSL *);
int SSL_renegotiate(SSL *);
int SSL_renegotiate_pending(const SSL *);
long SSL_total_renegotiations(SSL *);
int SSL_key_update(SSL *, int);
int SSL_in_init(const SSL *);
int SSL_in_before(const SSL *);
int SSL_is_init_finished(const SSL *);
const char *SSL_state_string_long(const SSL *);
const char *SSL_alert_type_string_long(int);
const char *SSL_alert_desc_string_long(int);

long SSL_set_mode(SSL *, long);
long SSL_clear_mode(SSL *, long);
long SSL_get_mode(SSL *);
uint64_t SSL_set_options(SSL *, uint64_t);
uint64_t SSL_get_options(const SSL *);
int SSL_set_min_proto_version(SSL *, int);
int SSL_set_max_proto_version(SSL *, int);
int SSL_set_cipher_list(SSL *, const char *);
int SSL_set_ciphersuites(SSL *, const char *);
void SSL_set_verify(SSL *, int, int (*)(int, X509_STORE_CTX *));
void SSL_set_verify_depth(SSL *, int);
int SSL_get_verify_mode(const SSL *);
int SSL_get_verify_depth(const SSL *);
long SSL_get_verify_result(const SSL *);
X509_VERIFY_PARAM *SSL_get0_param(SSL *);
int SSL_set1_host(SSL *, const char *);
int SSL_add1_host(SSL *, const char *);
void SSL_set_hostflags(SSL *, unsigned int);
int SSL_use_certificate(SSL *, X509 *);
int SSL_use_PrivateKey(SSL *, EVP_PKEY *);
int SSL_check_private_key(const SSL *);
void SSL_set_info_callback(SSL *, void (*)(const SSL *, int, int));
int SSL_set_alpn_protos(SSL *, const unsigned char *, unsigned int);
void SSL_get0_alpn_selected(const SSL *, const unsigned char **, unsigned int *);
long SSL_set_tlsext_host_name(SSL *, char *);
const char *SSL_get_servername(const SSL *, const int);
int SSL_get_servername_type(const SSL *);
Cryptography_STACK_OF_X509_NAME *SSL_get_client_CA_list(const SSL *);
int SSL_set_session_id_context(SSL *, const unsigned char *, unsigned int);

X509 *SSL_get_certificate(const SSL *);
X509 *SSL_get1_peer_certificate(const SSL *);
Cryptography_STACK_OF_X509 *SSL_get_peer_cert_chain(const SSL *);
Cryptography_STACK_OF_X509 *SSL_get0_verified_chain(const SSL *);

const SSL_CIPHER *SSL_get_current_cipher(const SSL *);
const char *SSL_CIPHER_get_name(const SSL_CIPHER *);
int SSL_CIPHER_get_bits(const SSL_CIPHER *, int *);
const char *SSL_CIPHER_get_version(const SSL_CIPHER *);
const char *SSL_get_cipher_list(const SSL *, int);
Cryptography_STACK_OF_SSL_CIPHER *SSL_get_ciphers(const SSL *);
int sk_SSL_CIPHER_num(Cryptography_STACK_OF_SSL_CIPHER *);
const SSL_CIPHER *sk_SSL_CIPHER_value(Cryptography_STACK_OF_SSL_CIPHER *, int);
const char *SSL_get_version(const SSL *);
int SSL_version(const SSL *);
long SSL_get_negotiated_group(SSL *);

SSL_SESSION *SSL_get1_session(SSL *);
int SSL_set_session(SSL *, SSL_SESSION *);
void SSL_SESSION_free(SSL_SESSION *);
int SSL_session_reused(const SSL *);
int SSL_SESSION_is_resumable(const SSL_SESSION *);

size_t SSL_get_finished(const SSL *, void *, size_t);
size_t SSL_get_peer_finished(const SSL *, void *, size_t);
size_t SSL_get_client_random(const SSL *, unsigned char *, size_t);
size_t SSL_get_server_random(const SSL *, unsigned char *, size_t);
size_t SSL_SESSION_get_master_key(const SSL_SESSION *, unsigned char *, size_t);
int SSL_export_keying_material(SSL *, unsigned char *, size_t, const char *, size_t, const unsigned char *, size_t, int);

int SSL_get_ex_new_index(long, void *, void *, void *, void *);
int SSL_set_ex_data(SSL *, int, void *);
void *SSL_get_ex_data(const SSL *, int);
int SSL_CTX_get_ex_new_index(long, void *, void *, void *, void *);
int SSL_CTX_set_ex_data(SSL_CTX *, int, void *);
void *SSL_CTX_get_ex_data(const SSL_CTX *, int);

/* Added for SSL.Context/Connection (pyOpenSSL parity). */
Cryptography_STACK_OF_X509_NAME *SSL_load_client_CA_file(const char *);
const char *SSL_group_to_name(SSL *, int);
int SSL_CTX_set_tlsext_use_srtp(SSL_CTX *, const char *);
SRTP_PROTECTION_PROFILE *SSL_get_selected_srtp_profile(SSL *);
SSL_SESSION *SSL_get_session(const SSL *);
uint64_t SSL_clear_options(SSL *, uint64_t);
void SSL_set_client_CA_list(SSL *, Cryptography_STACK_OF_X509_NAME *);
int SSL_use_certificate_file(SSL *, const char *, int);
int SSL_use_PrivateKey_file(SSL *, const char *, int);

/* Hot-path helpers (C, below): one C call per I/O. Each clears the error queue and
   errno first; on failure it reports the SSL_get_error code, with errno as the failed
   call left it (cffi then exposes it as ffi.errno). The handshake and shutdown return
   0 or that code. The data calls return the byte count (>= 0) or the negated code
   (BIO calls: -1 when there is nothing to read / a retry is needed); their `char *`
   lets cffi pass a bytes object without ffi.from_buffer. */
int asyncssl_do_handshake(SSL *);
int asyncssl_shutdown(SSL *, int *);
long asyncssl_send(SSL *, const char *, size_t);
long asyncssl_recv(SSL *, char *, size_t);
long asyncssl_peek(SSL *, char *, size_t);
long asyncssl_bio_put(BIO *, const char *, size_t);
long asyncssl_bio_get(BIO *, char *, size_t);

/* Python callbacks (defined with @ffi.def_extern in the object modules). */
extern "Python" int asyncssl_verify_cb(int, X509_STORE_CTX *);
extern "Python" void asyncssl_info_cb(const SSL *, int, int);
extern "Python" void asyncssl_keylog_cb(const SSL *, const char *);
extern "Python" int asyncssl_servername_cb(SSL *, int *, void *);
extern "Python" int asyncssl_ocsp_cb(SSL *, void *);
extern "Python" int asyncssl_alpn_select_cb(SSL *, const unsigned char **, unsigned char *, const unsigned char *, unsigned int, void *);
extern "Python" int asyncssl_passwd_cb(char *, int, int, void *);
extern "Python" int asyncssl_cookie_generate_cb(SSL *, unsigned char *, unsigned int *);
extern "Python" int asyncssl_cookie_verify_cb(SSL *, const unsigned char *, unsigned int);
"""

CUSTOMIZATIONS = """
typedef STACK_OF(SSL_CIPHER) Cryptography_STACK_OF_SSL_CIPHER;

/* --- hot-path helpers for SSL.Connection ------------------------------------------
   Why C: a Python-level read or write would otherwise cost three cffi calls
   (ERR_clear_error, the I/O, SSL_get_error); the benchmarks compare against Python's
   C-implemented ssl module. The queue is cleared first because OpenSSL reports
   WANT_ASYNC only when it is empty; errno is reset so a non-zero errno afterwards
   really comes from this call (pyOpenSSL's SysCallError(errno) vs "Unexpected EOF"). */

/* ERR_clear_error walks all 16 queue slots even when the queue is empty (the usual
   case: failures drain it); peeking first is much cheaper. */
#define ASYNCSSL_CLEAR_ERRORS() do { if (ERR_peek_error() != 0) ERR_clear_error(); } while (0)

static int asyncssl_io_result(SSL *s, int ret)
{
    int saved = errno;
    int code = SSL_get_error(s, ret);
    errno = saved;
    return code;
}

int asyncssl_do_handshake(SSL *s)
{
    int ret;
    ASYNCSSL_CLEAR_ERRORS();
    errno = 0;
    ret = SSL_do_handshake(s);
    return ret == 1 ? 0 : asyncssl_io_result(s, ret);
}

long asyncssl_send(SSL *s, const char *buf, size_t n)
{
    size_t put = 0;
    ASYNCSSL_CLEAR_ERRORS();
    errno = 0;
    if (SSL_write_ex(s, buf, n, &put))
        return (long)put;
    return -(long)asyncssl_io_result(s, 0);
}

long asyncssl_recv(SSL *s, char *buf, size_t n)
{
    size_t got = 0;
    ASYNCSSL_CLEAR_ERRORS();
    errno = 0;
    if (SSL_read_ex(s, buf, n, &got))
        return (long)got;
    return -(long)asyncssl_io_result(s, 0);
}

long asyncssl_peek(SSL *s, char *buf, size_t n)
{
    size_t got = 0;
    ASYNCSSL_CLEAR_ERRORS();
    errno = 0;
    if (SSL_peek_ex(s, buf, n, &got))
        return (long)got;
    return -(long)asyncssl_io_result(s, 0);
}

long asyncssl_bio_put(BIO *b, const char *buf, size_t n)
{
    size_t put = 0;
    return BIO_write_ex(b, buf, n, &put) ? (long)put : -1;
}

long asyncssl_bio_get(BIO *b, char *buf, size_t n)
{
    size_t got = 0;
    return BIO_read_ex(b, buf, n, &got) ? (long)got : -1;
}

/* *ret gets SSL_shutdown's result (1 done, 0 sent, <0 failed); returns the error code
   when it failed, else 0. */
int asyncssl_shutdown(SSL *s, int *ret)
{
    ASYNCSSL_CLEAR_ERRORS();
    errno = 0;
    *ret = SSL_shutdown(s);
    return *ret < 0 ? asyncssl_io_result(s, *ret) : 0;
}
"""
