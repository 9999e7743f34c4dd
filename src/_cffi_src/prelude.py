"""Version gate and the build-time feature flags.

Every OpenSSL version decision is made here, once, by the C preprocessor. Python only
reads the exported ``ASYNCSSL_*`` values; it never parses version strings.
"""

INCLUDES = """
#include <openssl/opensslv.h>
#include <openssl/opensslconf.h>
#include <openssl/crypto.h>
#include <sys/time.h>
#include <stdint.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "asyncssl needs OpenSSL 3.0 or newer: point OPENSSL_DIR at an OpenSSL 3.x installation (see README, 'Building against a chosen OpenSSL')"
#endif

#define ASYNCSSL_OPENSSL_320_OR_GREATER (OPENSSL_VERSION_NUMBER >= 0x30200000L)
#define ASYNCSSL_OPENSSL_330_OR_GREATER (OPENSSL_VERSION_NUMBER >= 0x30300000L)
#define ASYNCSSL_OPENSSL_350_OR_GREATER (OPENSSL_VERSION_NUMBER >= 0x30500000L)
#define ASYNCSSL_OPENSSL_400_OR_GREATER (OPENSSL_VERSION_NUMBER >= 0x40000000L)

/* QUIC needs 3.2 headers and a build with QUIC enabled (no-quic, no-dgram, no-sock,
   no-tls1_3 all turn it off). quic.h does not exist before 3.2. */
#if ASYNCSSL_OPENSSL_320_OR_GREATER && !defined(OPENSSL_NO_QUIC)
#define ASYNCSSL_QUIC_ENABLED 1
#include <openssl/quic.h>
#else
#define ASYNCSSL_QUIC_ENABLED 0
#endif
"""

TYPES = """
typedef int... time_t;
typedef int... suseconds_t;
struct timeval { time_t tv_sec; suseconds_t tv_usec; ...; };

/* The OpenSSL the module was compiled against (OPENSSL_VERSION_NUMBER, 0xMNN00PP0L). */
static const long ASYNCSSL_COMPILED_VERSION_NUMBER;
static const char *const ASYNCSSL_COMPILED_VERSION_TEXT;
"""

FUNCTIONS = ""

CUSTOMIZATIONS = """
static const long ASYNCSSL_COMPILED_VERSION_NUMBER = OPENSSL_VERSION_NUMBER;
static const char *const ASYNCSSL_COMPILED_VERSION_TEXT = OPENSSL_VERSION_TEXT;
"""
