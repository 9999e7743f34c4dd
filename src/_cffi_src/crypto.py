"""Library identity, memory and platform facts."""

INCLUDES = """
#include <openssl/crypto.h>
"""

TYPES = """
static const int OPENSSL_VERSION;
static const int OPENSSL_DIR;
static const int OPENSSL_ENGINES_DIR;
static const int OPENSSL_MODULES_DIR;
"""

FUNCTIONS = """
unsigned long OpenSSL_version_num(void);
const char *OpenSSL_version(int);
void OPENSSL_free(void *);
unsigned int OPENSSL_version_major(void);
unsigned int OPENSSL_version_minor(void);
unsigned int OPENSSL_version_patch(void);
int CRYPTO_memcmp(const void *, const void *, size_t);
"""

CUSTOMIZATIONS = ""
