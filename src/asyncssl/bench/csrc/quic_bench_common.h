/*
 * quic_bench_common.h: what the C QUIC benchmark client and server share: failing
 * loudly, reading clocks, and the application-driven event loop of openssl-quic(7)
 * (wait on the poll descriptors and the event timeout, then SSL_handle_events).
 * Each program defines BENCH_NAME before including it.
 */
#ifndef QUIC_BENCH_COMMON_H
#define QUIC_BENCH_COMMON_H

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double clock_of(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until the network or OpenSSL's timer needs attention, then let OpenSSL work. */
static void wait_for_network(SSL *s)
{
    struct timeval tv;
    int infinite = 1, timeout_ms = -1;
    struct pollfd pfd = { .fd = -1, .events = 0 };
    BIO_POLL_DESCRIPTOR d;

    if (!SSL_get_event_timeout(s, &tv, &infinite))
        die("SSL_get_event_timeout");
    if (!infinite) /* round up: waking a little early would only spin once more */
        timeout_ms = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
    if (SSL_net_read_desired(s) && SSL_get_rpoll_descriptor(s, &d)
            && d.type == BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD) {
        pfd.fd = d.value.fd;
        pfd.events |= POLLIN;
    }
    if (SSL_net_write_desired(s) && SSL_get_wpoll_descriptor(s, &d)
            && d.type == BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD) {
        pfd.fd = d.value.fd;
        pfd.events |= POLLOUT;
    }
    if (pfd.events != 0 || timeout_ms >= 0)
        poll(pfd.events ? &pfd : NULL, pfd.events ? 1 : 0, timeout_ms);
    SSL_handle_events(s);
    ERR_clear_error(); /* failures surface through the next real call */
}


#endif
