"""Certificates, stores and verification parameters.

Certificates cross into Python as DER (``i2d_X509``) and are turned into
``cryptography`` objects there; PEM and DER loading goes through memory BIOs.
"""

INCLUDES = """
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
"""

TYPES = """
typedef ... X509;
typedef ... X509_STORE;
typedef ... X509_STORE_CTX;
typedef ... X509_VERIFY_PARAM;
typedef ... X509_NAME;
typedef ... X509_NAME_ENTRY;
typedef ... ASN1_OBJECT;
typedef ... ASN1_STRING;
typedef ... Cryptography_STACK_OF_X509;
typedef ... Cryptography_STACK_OF_X509_NAME;
typedef int pem_password_cb(char *, int, int, void *);

static const int X509_V_OK;
static const int X509_V_ERR_HOSTNAME_MISMATCH;
static const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
static const int X509_V_ERR_UNABLE_TO_GET_CRL;
static const int X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE;
static const int X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE;
static const int X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY;
static const int X509_V_ERR_CERT_SIGNATURE_FAILURE;
static const int X509_V_ERR_CRL_SIGNATURE_FAILURE;
static const int X509_V_ERR_CERT_NOT_YET_VALID;
static const int X509_V_ERR_CERT_HAS_EXPIRED;
static const int X509_V_ERR_CRL_NOT_YET_VALID;
static const int X509_V_ERR_CRL_HAS_EXPIRED;
static const int X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
static const int X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
static const int X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD;
static const int X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD;
static const int X509_V_ERR_OUT_OF_MEM;
static const int X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
static const int X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
static const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
static const int X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
static const int X509_V_ERR_CERT_CHAIN_TOO_LONG;
static const int X509_V_ERR_CERT_REVOKED;
static const int X509_V_ERR_INVALID_CA;
static const int X509_V_ERR_PATH_LENGTH_EXCEEDED;
static const int X509_V_ERR_INVALID_PURPOSE;
static const int X509_V_ERR_CERT_UNTRUSTED;
static const int X509_V_ERR_CERT_REJECTED;
static const int X509_V_ERR_SUBJECT_ISSUER_MISMATCH;
static const int X509_V_ERR_AKID_SKID_MISMATCH;
static const int X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH;
static const int X509_V_ERR_KEYUSAGE_NO_CERTSIGN;
static const int X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER;
static const int X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION;
static const int X509_V_ERR_KEYUSAGE_NO_CRL_SIGN;
static const int X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION;
static const int X509_V_ERR_INVALID_NON_CA;
static const int X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED;
static const int X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE;
static const int X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED;
static const int X509_V_ERR_INVALID_EXTENSION;
static const int X509_V_ERR_INVALID_POLICY_EXTENSION;
static const int X509_V_ERR_NO_EXPLICIT_POLICY;
static const int X509_V_ERR_DIFFERENT_CRL_SCOPE;
static const int X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE;
static const int X509_V_ERR_UNNESTED_RESOURCE;
static const int X509_V_ERR_PERMITTED_VIOLATION;
static const int X509_V_ERR_EXCLUDED_VIOLATION;
static const int X509_V_ERR_SUBTREE_MINMAX;
static const int X509_V_ERR_APPLICATION_VERIFICATION;
static const int X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE;
static const int X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX;
static const int X509_V_ERR_UNSUPPORTED_NAME_SYNTAX;
static const int X509_V_ERR_CRL_PATH_VALIDATION_ERROR;
static const int X509_V_ERR_EMAIL_MISMATCH;
static const int X509_V_ERR_IP_ADDRESS_MISMATCH;
static const int X509_V_FLAG_PARTIAL_CHAIN;
static const int X509_V_FLAG_X509_STRICT;
static const int X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
static const unsigned long XN_FLAG_RFC2253;
"""

FUNCTIONS = """
X509 *d2i_X509(X509 **, const unsigned char **, long);
int i2d_X509(X509 *, unsigned char **);
X509 *PEM_read_bio_X509(BIO *, X509 **, pem_password_cb *, void *);
X509 *PEM_read_bio_X509_AUX(BIO *, X509 **, pem_password_cb *, void *);
void X509_free(X509 *);
int X509_up_ref(X509 *);
const X509_NAME *X509_get_subject_name(const X509 *);
int i2d_X509_NAME(const X509_NAME *, unsigned char **);
X509_NAME *X509_NAME_dup(const X509_NAME *);
void X509_NAME_free(X509_NAME *);
X509_NAME *d2i_X509_NAME(X509_NAME **, const unsigned char **, long);
int X509_NAME_print_ex(BIO *, const X509_NAME *, int, unsigned long);
int X509_NAME_entry_count(const X509_NAME *);
X509_NAME_ENTRY *X509_NAME_get_entry(const X509_NAME *, int);
ASN1_OBJECT *X509_NAME_ENTRY_get_object(const X509_NAME_ENTRY *);
ASN1_STRING *X509_NAME_ENTRY_get_data(const X509_NAME_ENTRY *);
int X509_NAME_ENTRY_set(const X509_NAME_ENTRY *);
int OBJ_obj2txt(char *, int, const ASN1_OBJECT *, int);
int ASN1_STRING_to_UTF8(unsigned char **, const ASN1_STRING *);

int sk_X509_num(Cryptography_STACK_OF_X509 *);
X509 *sk_X509_value(Cryptography_STACK_OF_X509 *, int);
int sk_X509_NAME_num(Cryptography_STACK_OF_X509_NAME *);
X509_NAME *sk_X509_NAME_value(Cryptography_STACK_OF_X509_NAME *, int);
Cryptography_STACK_OF_X509_NAME *sk_X509_NAME_new_null(void);
int sk_X509_NAME_push(Cryptography_STACK_OF_X509_NAME *, X509_NAME *);
void sk_X509_NAME_pop_free(Cryptography_STACK_OF_X509_NAME *, void (*)(X509_NAME *));

X509_STORE *X509_STORE_new(void);
void X509_STORE_free(X509_STORE *);
int X509_STORE_add_cert(X509_STORE *, X509 *);
int X509_STORE_set_flags(X509_STORE *, unsigned long);
int X509_STORE_load_locations(X509_STORE *, const char *, const char *);
X509_VERIFY_PARAM *X509_STORE_get0_param(const X509_STORE *);
void X509_VERIFY_PARAM_set_time(X509_VERIFY_PARAM *, time_t);
X509 *X509_STORE_CTX_get_current_cert(const X509_STORE_CTX *);
int X509_STORE_CTX_get_error(const X509_STORE_CTX *);
void X509_STORE_CTX_set_error(X509_STORE_CTX *, int);
int X509_STORE_CTX_get_error_depth(const X509_STORE_CTX *);
void *X509_STORE_CTX_get_ex_data(const X509_STORE_CTX *, int);
int SSL_get_ex_data_X509_STORE_CTX_idx(void);
const char *X509_verify_cert_error_string(long);

int X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *, const char *, size_t);
int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *, const char *);
void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM *, unsigned int);
int X509_VERIFY_PARAM_set_flags(X509_VERIFY_PARAM *, unsigned long);

/* Where this build of libcrypto looks for CA certificates by default. */
const char *X509_get_default_cert_file(void);
const char *X509_get_default_cert_file_env(void);
const char *X509_get_default_cert_dir(void);
const char *X509_get_default_cert_dir_env(void);
"""

CUSTOMIZATIONS = """
typedef STACK_OF(X509) Cryptography_STACK_OF_X509;
typedef STACK_OF(X509_NAME) Cryptography_STACK_OF_X509_NAME;
"""
