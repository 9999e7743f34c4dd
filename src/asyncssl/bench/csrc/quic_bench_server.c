/*
 * quic_bench_server.c: the C reference for `python -m asyncssl bench quic` (server side).
 *
 *   quic_bench_server CERTFILE KEYFILE
 *
 * Binds 127.0.0.1 on an ephemeral port, prints "READY <port>", accepts one connection
 * and one stream, reads it to its FIN in 64 KiB reads, answers with the 8-byte big-endian
 * count of bytes received, concludes, waits (bounded) for the client to close, and
 * prints one JSON line (the same keys as asyncssl's Python workers).
 *
 * Non-blocking, driven by poll(2) on the listener's poll descriptors and
 * SSL_get_event_timeout, as the "asyncssl sync" contender's server does in Python: one
 * listener has one descriptor pair and one timer for all its connections, so the loop
 * waits on the listener whatever it is waiting for.
 *
 * The timed window runs from the stream's acceptance to its FIN; CPU time is
 * CLOCK_PROCESS_CPUTIME_ID over the same window.
 */
#include <arpa/inet.h>
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

#define CIPHERSUITE "TLS_AES_128_GCM_SHA256"
#define READ_SIZE 65536

#define BENCH_NAME "quic_bench_server"
#include "quic_bench_common.h"
#include "quic_bench_alpn.h"

int main(int argc, char **argv)
{
    SSL_CTX *ctx;
    SSL *listener, *conn, *stream;
    struct sockaddr_in addr;
    socklen_t addrlen = sizeof(addr);
    int fd, err;
    size_t n, received = 0, sent = 0;
    unsigned char *buf, reply[8];
    double t0, c0, t1, c1, deadline;
    SSL_CONN_CLOSE_INFO info;

    if (argc != 3) {
        fprintf(stderr, "usage: %s CERTFILE KEYFILE\n", argv[0]);
        return 2;
    }
    if ((buf = malloc(READ_SIZE)) == NULL)
        die("malloc");
    if ((ctx = SSL_CTX_new(OSSL_QUIC_server_method())) == NULL)
        die("SSL_CTX_new(OSSL_QUIC_server_method)");
    if (!SSL_CTX_use_certificate_chain_file(ctx, argv[1])
            || !SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM))
        die("loading the certificate and key");
    if (!SSL_CTX_set_ciphersuites(ctx, CIPHERSUITE))
        die("SSL_CTX_set_ciphersuites");
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0
            || getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0)
        die("socket/bind");
    /* Address validation stays on (a Retry round trip), as in asyncssl's Listener default. */
    if ((listener = SSL_new_listener(ctx, 0)) == NULL || !SSL_set_fd(listener, fd)
            || !SSL_set_blocking_mode(listener, 0) || !SSL_listen(listener))
        die("SSL_new_listener/SSL_set_fd/SSL_listen");
    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    while ((conn = SSL_accept_connection(listener, SSL_ACCEPT_CONNECTION_NO_BLOCK)) == NULL)
        wait_for_network(listener);
    /* Peer streams go to SSL_accept_stream only without a default stream (asyncssl does the same). */
    SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE);
    ERR_clear_error();
    while ((stream = SSL_accept_stream(conn, SSL_ACCEPT_STREAM_NO_BLOCK)) == NULL) {
        if (SSL_get_conn_close_info(conn, &info, sizeof(info)) == 1)
            die("accepting the stream (the connection closed)");
        ERR_clear_error();
        wait_for_network(listener);
    }
    SSL_set_mode(stream, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    t0 = clock_of(CLOCK_MONOTONIC);
    c0 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    for (;;) {
        if (SSL_read_ex(stream, buf, READ_SIZE, &n)) {
            received += n;
            continue;
        }
        err = SSL_get_error(stream, 0);
        if (err == SSL_ERROR_ZERO_RETURN)
            break;
        if (err != SSL_ERROR_WANT_READ)
            die("SSL_read_ex");
        wait_for_network(listener);
    }
    t1 = clock_of(CLOCK_MONOTONIC);
    c1 = clock_of(CLOCK_PROCESS_CPUTIME_ID);

    for (int i = 0; i < 8; i++)
        reply[i] = (unsigned char)((uint64_t)received >> (56 - 8 * i));
    while (sent < sizeof(reply)) {
        if (SSL_write_ex(stream, reply + sent, sizeof(reply) - sent, &n)) {
            sent += n;
            continue;
        }
        err = SSL_get_error(stream, 0);
        if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
            die("SSL_write_ex (the reply)");
        wait_for_network(listener);
    }
    if (!SSL_stream_conclude(stream, 0))
        die("SSL_stream_conclude");
    SSL_handle_events(conn); /* put the reply on the wire now */

    /* Not timed: stay until the client has the reply and closes (bounded). */
    deadline = clock_of(CLOCK_MONOTONIC) + 3.0;
    while (SSL_get_conn_close_info(conn, &info, sizeof(info)) != 1 && clock_of(CLOCK_MONOTONIC) < deadline)
        wait_for_network(listener);

    printf("{\"bytes\": %zu, \"seconds\": %.9f, \"cpu\": %.9f, \"cipher\": \"%s\", "
           "\"openssl\": \"%s\", \"mode\": \"non-blocking, poll()\"}\n",
           received, t1 - t0, c1 - c0, SSL_CIPHER_get_name(SSL_get_current_cipher(conn)),
           OpenSSL_version(OPENSSL_VERSION));
    fflush(stdout);
    SSL_free(stream);
    SSL_free(conn);
    SSL_free(listener);
    SSL_CTX_free(ctx);
    close(fd);
    free(buf);
    return 0;
}
