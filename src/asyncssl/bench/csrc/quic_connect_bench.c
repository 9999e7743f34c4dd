/*
 * quic_connect_bench.c: OpenSSL's own cost of a QUIC connect, for comparison with
 * aio.quic_connect (python -m asyncssl.bench.quic.trace, bench quic's latency step).
 *
 *     quic_connect_bench PORT CAFILE N [GROUPS]
 *
 * N sequential connections to 127.0.0.1:PORT (any asyncssl/aioquic echo server of the
 * bench, ALPN "asyncssl-bench", name "localhost"), each: connect (non-blocking, the
 * application-driven loop of openssl-quic(7)), one 64-byte stream echo, then kept open.
 * Prints one JSON line: connect times (ms), the echo p50, and this process's CPU per
 * connection. GROUPS sets the key exchange groups (SSL_CTX_set1_groups_list).
 */
#define BENCH_NAME "quic_connect_bench"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quic_bench_common.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    static const unsigned char alpn[] = "\x0e" "asyncssl-bench";
    struct sockaddr_in addr;
    SSL_CTX *ctx;
    int n, i;
    double *connect_ms, *echo_ms, cpu0;

    if (argc < 4)
        return fprintf(stderr, "usage: %s PORT CAFILE N [GROUPS]\n", argv[0]), 2;
    n = atoi(argv[3]);
    connect_ms = calloc(n, sizeof(double));
    echo_ms = calloc(n, sizeof(double));
    if ((ctx = SSL_CTX_new(OSSL_QUIC_client_method())) == NULL)
        die("SSL_CTX_new");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (!SSL_CTX_load_verify_locations(ctx, argv[2], NULL))
        die("SSL_CTX_load_verify_locations");
    if (argc > 4 && !SSL_CTX_set1_groups_list(ctx, argv[4]))
        die("SSL_CTX_set1_groups_list");
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cpu0 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    for (i = 0; i < n; i++) {
        unsigned char buf[64], back[64];
        size_t got = 0, done;
        double t0 = clock_of(CLOCK_MONOTONIC), t1;
        int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;
        SSL *s, *st;

        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
            die("socket/connect");
        if ((s = SSL_new(ctx)) == NULL || !SSL_set_fd(s, fd) || SSL_set_alpn_protos(s, alpn, sizeof(alpn) - 1)
                || !SSL_set_tlsext_host_name(s, "localhost") || !SSL_set1_host(s, "localhost")
                || !SSL_set_blocking_mode(s, 0))
            die("SSL_new/SSL_set_fd/ALPN/host");
        while ((ret = SSL_connect(s)) != 1) {
            int err = SSL_get_error(s, ret);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                die("SSL_connect");
            wait_for_network(s);
        }
        t1 = clock_of(CLOCK_MONOTONIC);
        connect_ms[i] = (t1 - t0) * 1e3;
        while ((st = SSL_new_stream(s, 0)) == NULL)
            wait_for_network(s);
        memset(buf, 'x', sizeof(buf));
        while (!SSL_write_ex2(st, buf, sizeof(buf), SSL_WRITE_FLAG_CONCLUDE, &done))
            wait_for_network(s);
        while (got < sizeof(back)) {
            if (SSL_read_ex(st, back + got, sizeof(back) - got, &done)) {
                got += done;
                continue;
            }
            if (SSL_get_error(st, 0) != SSL_ERROR_WANT_READ)
                die("SSL_read_ex");
            wait_for_network(s);
        }
        echo_ms[i] = (clock_of(CLOCK_MONOTONIC) - t1) * 1e3;
        /* kept open: neither s nor st is freed (the process exit ends them) */
    }
    printf("{\"connections\": %d, \"cpu_ms_per_connection\": %.3f, \"connect_ms\": [", n,
           (clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0) * 1e3 / n);
    for (i = 0; i < n; i++)
        printf("%s%.3f", i ? ", " : "", connect_ms[i]);
    qsort(echo_ms, n, sizeof(double), cmp);
    printf("], \"echo_p50_ms\": %.3f}\n", echo_ms[n / 2]);
    return 0;
}
