"""The simulated accelerator provider (src/asyncssl/testing/simaccel), compiled into the extension.

Why a testing provider is in the production extension: a provider must run inside the
libcrypto that the extension itself calls, or its algorithms are invisible to the
extension's library contexts. Wheels link a static OpenSSL with its symbols hidden, so that
libcrypto exists only inside ``asyncssl._openssl``; a separately built provider module would
load another libcrypto (the system's) and could never be used by it. Compiled into the same
binary, it is registered per library context with ``OSSL_PROVIDER_add_builtin``
(``asyncssl.testing.load_simulated_accelerator``) and costs nothing until then.

The provider's C sources ship inside the package (``asyncssl/testing/simaccel/``) because
``asyncssl.testing.build_simulated_accelerator_module`` compiles the same sources into a
loadable module at run time, found next to the installed package and not at a path of
the build machine. Here they are included into the cffi translation unit by name, through
``INCLUDE_DIRS`` (build_ffi.py adds it to the compiler's include path). No path is written
into the extension: build_ffi.py maps the checkout's prefix away from ``__FILE__`` and the
debug information (``-ffile-prefix-map``), and tests/foundation/test_build_paths.py checks it.
"""

from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent / "asyncssl" / "testing" / "simaccel"
# Compiler include path for the provider's headers and the sources included below.
INCLUDE_DIRS = [str(SOURCE_DIR)]
# The files that make the provider; simaccel_module.c (OSSL_provider_init) is only for
# the loadable module.
PROVIDER_SOURCES = ["simaccel_err.c", "simaccel_device.c", "simaccel_prov.c", "simaccel_keymgmt.c", "simaccel_sig.c"]

INCLUDES = """
#include <openssl/provider.h>
#include "simaccel.h"
"""

TYPES = """
struct simaccel_stats {
    unsigned long operations;
    unsigned long completed;
    unsigned long failures;
    unsigned long eagains;
    unsigned long pauses;
    unsigned long spurious_resumes;
    unsigned long fd_notifications;
    unsigned long callback_notifications;
    unsigned long sync_operations;
};

/* The property query that makes a library context prefer simaccel's signatures. */
static const char *const ASYNCSSL_SIMACCEL_PREFERENCE;
static const char *const ASYNCSSL_SIMACCEL_NAME;
"""

FUNCTIONS = """
int asyncssl_simaccel_register(OSSL_LIB_CTX *);
void asyncssl_simaccel_configure(double, unsigned int, unsigned int);
void asyncssl_simaccel_stats(struct simaccel_stats *);
void asyncssl_simaccel_reset_stats(void);
void asyncssl_simaccel_set_trace_file(const char *);
void asyncssl_simaccel_after_fork_child(void);
"""

CUSTOMIZATIONS = (
    "\n".join(f'#include "{name}"' for name in PROVIDER_SOURCES)
    + """
static const char *const ASYNCSSL_SIMACCEL_PREFERENCE = SIMACCEL_PREFERENCE;
static const char *const ASYNCSSL_SIMACCEL_NAME = SIMACCEL_NAME;

/* Makes "simaccel" loadable by name (OSSL_PROVIDER_load) in this library context. */
int asyncssl_simaccel_register(OSSL_LIB_CTX *libctx)
{
    return OSSL_PROVIDER_add_builtin(libctx, SIMACCEL_NAME, simaccel_provider_init);
}

void asyncssl_simaccel_configure(double latency, unsigned int fail_every, unsigned int eagain_every)
{
    simaccel_configure(latency, fail_every, eagain_every);
}

void asyncssl_simaccel_stats(struct simaccel_stats *out) { simaccel_get_stats(out); }
void asyncssl_simaccel_reset_stats(void) { simaccel_reset_stats(); }
void asyncssl_simaccel_set_trace_file(const char *path) { simaccel_set_trace_file(path); }
void asyncssl_simaccel_after_fork_child(void) { simaccel_after_fork_child(); }
"""
)
