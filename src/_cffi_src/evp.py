"""Private keys and signatures (key loading, check_privatekey, aio.sign)."""

INCLUDES = """
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
"""

TYPES = """
static const int RSA_PKCS1_PADDING;
static const int RSA_PKCS1_PSS_PADDING;
static const int EVP_PKEY_RSA;
static const int EVP_PKEY_EC;
typedef ... EVP_PKEY;
typedef ... EVP_MD_CTX;
typedef ... EVP_MD;
typedef ... EVP_PKEY_CTX;
typedef ... OSSL_LIB_CTX;
"""

FUNCTIONS = """
EVP_PKEY *PEM_read_bio_PrivateKey(BIO *, EVP_PKEY **, pem_password_cb *, void *);
EVP_PKEY *PEM_read_bio_PrivateKey_ex(BIO *, EVP_PKEY **, pem_password_cb *, void *, OSSL_LIB_CTX *, const char *);
EVP_PKEY *d2i_AutoPrivateKey(EVP_PKEY **, const unsigned char **, long);
EVP_PKEY *d2i_AutoPrivateKey_ex(EVP_PKEY **, const unsigned char **, long, OSSL_LIB_CTX *, const char *);
EVP_PKEY *PEM_read_bio_Parameters(BIO *, EVP_PKEY **);
void EVP_PKEY_free(EVP_PKEY *);
int EVP_PKEY_up_ref(EVP_PKEY *);
int EVP_PKEY_get_id(const EVP_PKEY *);
int EVP_PKEY_get_bits(const EVP_PKEY *);

EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *);
int EVP_DigestSignInit_ex(EVP_MD_CTX *, EVP_PKEY_CTX **, const char *, OSSL_LIB_CTX *, const char *, EVP_PKEY *, const void *);
int EVP_PKEY_CTX_set_rsa_padding(EVP_PKEY_CTX *, int);
int EVP_DigestSign(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
"""

CUSTOMIZATIONS = ""
