/*
 * quic_bench_alpn.h: the ALPN every QUIC benchmark peer speaks, and the servers' select
 * callback (QUIC refuses to run without ALPN: select ours or fail the handshake).
 */
#ifndef QUIC_BENCH_ALPN_H
#define QUIC_BENCH_ALPN_H

#include <string.h>

#include <openssl/ssl.h>

#define ALPN "asyncssl-bench"

static int select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned int i = 0, len;

    (void)s;
    (void)arg;
    while (i < inlen) {
        len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (len == sizeof(ALPN) - 1 && memcmp(in + i + 1, ALPN, len) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

#endif
