"""The simulated accelerator provider (src/providers/simaccel), compiled into the extension.

The provider's C sources are the same ones the test setup builds into a loadable module
(``asyncssl.testing.build_simulated_accelerator_module``).  Here they are included into
the cffi translation unit by absolute path (quoted includes inside them resolve next to
each file), so build_ffi.py needs no extra sources or include directories.  Compiled
into the extension, the provider uses the extension's own libcrypto -- also in wheels
with a static, symbol-hidden OpenSSL -- and is registered per library context with
``OSSL_PROVIDER_add_builtin``.
"""

from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent / "providers" / "simaccel"
# The files that make the provider; simaccel_module.c (OSSL_provider_init) is only for
# the loadable module.
PROVIDER_SOURCES = ["simaccel_err.c", "simaccel_device.c", "simaccel_prov.c", "simaccel_keymgmt.c", "simaccel_sig.c"]


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


INCLUDES = f"""
#include <openssl/provider.h>
#include {_c_string(str(SOURCE_DIR / "simaccel.h"))}
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

/* Where the provider's C sources were when this extension was built. */
static const char *const ASYNCSSL_SIMACCEL_SOURCE_DIR;
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
    "\n".join(f"#include {_c_string(str(SOURCE_DIR / name))}" for name in PROVIDER_SOURCES)
    + f"""
static const char *const ASYNCSSL_SIMACCEL_SOURCE_DIR = {_c_string(str(SOURCE_DIR))};
static const char *const ASYNCSSL_SIMACCEL_PREFERENCE = SIMACCEL_PREFERENCE;
static const char *const ASYNCSSL_SIMACCEL_NAME = SIMACCEL_NAME;

/* Makes "simaccel" loadable by name (OSSL_PROVIDER_load) in this library context. */
int asyncssl_simaccel_register(OSSL_LIB_CTX *libctx)
{{
    return OSSL_PROVIDER_add_builtin(libctx, SIMACCEL_NAME, simaccel_provider_init);
}}

void asyncssl_simaccel_configure(double latency, unsigned int fail_every, unsigned int eagain_every)
{{
    simaccel_configure(latency, fail_every, eagain_every);
}}

void asyncssl_simaccel_stats(struct simaccel_stats *out) {{ simaccel_get_stats(out); }}
void asyncssl_simaccel_reset_stats(void) {{ simaccel_reset_stats(); }}
void asyncssl_simaccel_set_trace_file(const char *path) {{ simaccel_set_trace_file(path); }}
void asyncssl_simaccel_after_fork_child(void) {{ simaccel_after_fork_child(); }}
"""
)
