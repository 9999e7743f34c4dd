/*
 * simaccel as a loadable provider module (OSSL_PROVIDER_load(libctx, "/path/simaccel.so"),
 * or `openssl s_server -provider-path DIR -provider simaccel -provider default -async`).
 *
 * A module has no configuration call, so the environment configures it when the
 * provider is initialised:
 *   SIMACCEL_LATENCY       seconds per operation (float, default 0.001)
 *   SIMACCEL_FAIL_EVERY    every n-th operation fails (default 0: never)
 *   SIMACCEL_EAGAIN_EVERY  every n-th operation is first refused with EAGAIN (default 0)
 *   SIMACCEL_TRACE         append one line per operation to this file
 * To make a library context prefer it, use the property query SIMACCEL_PREFERENCE
 * ("?simaccel.sign=yes,?simaccel.keys=no"; s_server: -propquery).
 */
#include <stdlib.h>
#include "simaccel.h"

static unsigned simaccel_env_unsigned(const char *name)
{
    const char *v = getenv(name);

    return v != NULL ? (unsigned)strtoul(v, NULL, 10) : 0;
}

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out, void **provctx)
{
    const char *latency = getenv("SIMACCEL_LATENCY");

    simaccel_configure(latency != NULL ? strtod(latency, NULL) : 0.001, simaccel_env_unsigned("SIMACCEL_FAIL_EVERY"),
                       simaccel_env_unsigned("SIMACCEL_EAGAIN_EVERY"));
    simaccel_set_trace_file(getenv("SIMACCEL_TRACE"));
    return simaccel_provider_init(handle, in, out, provctx);
}
