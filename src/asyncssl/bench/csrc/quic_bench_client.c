/*
 * quic_bench_client.c: the C reference for `python -m asyncssl bench quic` (client side).
 *
 *   quic_bench_client PORT CAFILE TOTAL_BYTES WRITE_SIZE
 *
 * Connects to 127.0.0.1:PORT, opens one bidirectional stream, sends TOTAL_BYTES in writes
 * of WRITE_SIZE, concludes the stream and waits for the server's 8-byte big-endian count
 * of what it received. Prints one JSON line (the same keys as asyncssl's Python workers).
 *
 * Non-blocking, driven by poll(2) on the poll descriptors and SSL_get_event_timeout: the
 * application-driven loop of openssl-quic(7), which is exactly what the "asyncssl sync"
 * contender does in Python, call for call, so the ratio between the two measures the
 * binding and nothing else. (Blocking mode would let OpenSSL run its own wait loop, a
 * different program.)
 *
 * The timed window is from the first write to the reply, excluding process start-up and
 * the handshake; CPU time is CLOCK_PROCESS_CPUTIME_ID over the same window, the clock
 * Python's time.process_time() reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define ALPN "asyncssl-bench"
#define CIPHERSUITE "TLS_AES_128_GCM_SHA256"

#define BENCH_NAME "quic_bench_client"
#include "quic_bench_common.h"

int main(int argc, char **argv)
{
    SSL_CTX *ctx;
    SSL *conn, *stream;
    struct sockaddr_in addr;
    int fd, ret, err;
    size_t total, chunk, sent = 0, n, got = 0;
    unsigned char *block, reply[8];
    uint64_t count = 0;
    double t0, c0, t1, c1;
    static const unsigned char alpn[] = "\x0e" ALPN;

    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT CAFILE TOTAL_BYTES WRITE_SIZE\n", argv[0]);
        return 2;
    }
    total = strtoull(argv[3], NULL, 10);
    chunk = strtoull(argv[4], NULL, 10);
    if (chunk == 0 || (block = malloc(chunk)) == NULL)
        die("allocating the write buffer");
    for (size_t i = 0; i < chunk; i++)
        block[i] = (unsigned char)(i * 131 + 7);

    if ((ctx = SSL_CTX_new(OSSL_QUIC_client_method())) == NULL)
        die("SSL_CTX_new(OSSL_QUIC_client_method)");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (!SSL_CTX_load_verify_locations(ctx, argv[2], NULL))
        die("SSL_CTX_load_verify_locations");
    if (!SSL_CTX_set_ciphersuites(ctx, CIPHERSUITE))
        die("SSL_CTX_set_ciphersuites");

    /* A connected socket: OpenSSL detects the peer address itself. */
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        die("socket/connect");

    if ((conn = SSL_new(ctx)) == NULL || !SSL_set_fd(conn, fd) || !SSL_set_blocking_mode(conn, 0))
        die("SSL_new/SSL_set_fd/SSL_set_blocking_mode");
    if (SSL_set_alpn_protos(conn, alpn, sizeof(alpn) - 1) != 0) /* 0 is success here */
        die("SSL_set_alpn_protos");
    if (!SSL_set_tlsext_host_name(conn, "localhost") || !SSL_set1_host(conn, "localhost"))
        die("SSL_set_tlsext_host_name/SSL_set1_host");
    /* Stream objects only, as asyncssl's new_stream() arranges. */
    if (!SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE))
        die("SSL_set_default_stream_mode");
    SSL_set_connect_state(conn);

    while ((ret = SSL_do_handshake(conn)) != 1) {
        err = SSL_get_error(conn, ret);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            die("the QUIC handshake");
        wait_for_network(conn);
    }
    while ((stream = SSL_new_stream(conn, SSL_STREAM_FLAG_NO_BLOCK)) == NULL) {
        ERR_clear_error(); /* stream-count limit: wait for credit */
        wait_for_network(conn);
    }
    /* The write modes asyncssl gives every stream (pyOpenSSL's defaults). */
    SSL_set_mode(stream, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    t0 = clock_of(CLOCK_MONOTONIC);
    c0 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    while (sent < total) {
        /* Offer the rest of the current WRITE_SIZE block: what the Python workers do. */
        size_t off = sent % chunk, len = chunk - off;

        if (len > total - sent)
            len = total - sent;
        if (SSL_write_ex(stream, block + off, len, &n)) {
            sent += n;
            continue;
        }
        err = SSL_get_error(stream, 0);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
            die("SSL_write_ex");
        wait_for_network(conn);
    }
    if (!SSL_stream_conclude(stream, 0))
        die("SSL_stream_conclude");
    while (got < sizeof(reply)) {
        if (SSL_read_ex(stream, reply + got, sizeof(reply) - got, &n)) {
            got += n;
            continue;
        }
        err = SSL_get_error(stream, 0);
        if (err == SSL_ERROR_ZERO_RETURN)
            break;
        if (err != SSL_ERROR_WANT_READ)
            die("SSL_read_ex (the reply)");
        wait_for_network(conn);
    }
    t1 = clock_of(CLOCK_MONOTONIC);
    c1 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < got; i++)
        count = count << 8 | reply[i];
    if (got != sizeof(reply) || count != total) {
        fprintf(stderr, "quic_bench_client: the server received %llu bytes, %zu were sent\n",
                (unsigned long long)count, total);
        return 1;
    }

    printf("{\"bytes\": %zu, \"seconds\": %.9f, \"cpu\": %.9f, \"cipher\": \"%s\", "
           "\"openssl\": \"%s\", \"openssl_compiled\": \"%s\", \"mode\": \"non-blocking, poll()\"}\n",
           total, t1 - t0, c1 - c0, SSL_CIPHER_get_name(SSL_get_current_cipher(conn)),
           OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
    fflush(stdout);

    /* Not timed: close politely (bounded), so the server sees a CONNECTION_CLOSE. */
    SSL_free(stream);
    {
        double deadline = clock_of(CLOCK_MONOTONIC) + 1.0;

        SSL_CONN_CLOSE_INFO info;

        /* The CONNECTION_CLOSE is on its way once the connection reports itself closed;
         * the closing period after that (about 3 PTO) is of no interest here. */
        while (SSL_shutdown_ex(conn, 0, NULL, 0) == 0 && clock_of(CLOCK_MONOTONIC) < deadline
               && SSL_get_conn_close_info(conn, &info, sizeof(info)) != 1)
            wait_for_network(conn);
        SSL_handle_events(conn);
    }
    SSL_free(conn);
    SSL_CTX_free(ctx);
    close(fd);
    free(block);
    return 0;
}
