/*
 * simaccel's errors: raised on the caller's OpenSSL error queue through the core's upcalls
 * (which the provider context holds), with the reason texts of simaccel_prov.c. A file of its
 * own because every part raises errors, the device included: kept out of simaccel_prov.c, it
 * lets the device (below the provider) raise them without calling back up into the provider.
 */
#include <stdarg.h>
#include "simaccel_int.h"

void simaccel_raise(const struct simaccel_provctx *prov, int reason, const char *fmt, ...)
{
    va_list ap;

    if (prov == NULL || prov->new_error == NULL || prov->vset_error == NULL)
        return;
    prov->new_error(prov->handle);
    if (prov->set_error_debug != NULL)
        prov->set_error_debug(prov->handle, __FILE__, __LINE__, "simaccel");
    va_start(ap, fmt);
    prov->vset_error(prov->handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}
