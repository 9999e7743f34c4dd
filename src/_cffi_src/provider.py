"""Library contexts and providers (OSSL_LIB_CTX, OSSL_PROVIDER)."""

INCLUDES = """
#include <openssl/provider.h>
"""

TYPES = """
typedef ... OSSL_PROVIDER;
"""

FUNCTIONS = """
OSSL_LIB_CTX *OSSL_LIB_CTX_new(void);
void OSSL_LIB_CTX_free(OSSL_LIB_CTX *);
OSSL_PROVIDER *OSSL_PROVIDER_load(OSSL_LIB_CTX *, const char *);
OSSL_PROVIDER *OSSL_PROVIDER_try_load(OSSL_LIB_CTX *, const char *, int);
int OSSL_PROVIDER_unload(OSSL_PROVIDER *);
int OSSL_PROVIDER_available(OSSL_LIB_CTX *, const char *);
const char *OSSL_PROVIDER_get0_name(const OSSL_PROVIDER *);
int OSSL_PROVIDER_set_default_search_path(OSSL_LIB_CTX *, const char *);
int EVP_set_default_properties(OSSL_LIB_CTX *, const char *);
"""

CUSTOMIZATIONS = ""
