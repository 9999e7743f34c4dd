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

/* Sleep until the network or OpenSSL's timer needs attention, or until `extra_fd` (>= 0)
 * is readable, or until the CLOCK_MONOTONIC time `until` (> 0) has come; then let OpenSSL
 * work. Returns whether `extra_fd` was readable (or hung up). A signal ends the wait. */
static int wait_for_network_or(SSL *s, int extra_fd, double until)
{
    struct timeval tv;
    int infinite = 1, timeout_ms = -1, n = 0, extra = -1;
    short events = 0;
    struct pollfd pfd[2];
    BIO_POLL_DESCRIPTOR d;

    if (!SSL_get_event_timeout(s, &tv, &infinite))
        die("SSL_get_event_timeout");
    if (!infinite) /* round up: waking a little early would only spin once more */
        timeout_ms = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
    if (until > 0) {
        int left = (int)((until - clock_of(CLOCK_MONOTONIC)) * 1000) + 1;

        if (timeout_ms < 0 || left < timeout_ms)
            timeout_ms = left < 0 ? 0 : left;
    }
    if (SSL_net_read_desired(s) && SSL_get_rpoll_descriptor(s, &d) && d.type == BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD)
        events |= POLLIN;
    if (SSL_net_write_desired(s) && SSL_get_wpoll_descriptor(s, &d) && d.type == BIO_POLL_DESCRIPTOR_TYPE_SOCK_FD)
        events |= POLLOUT;
    if (events != 0) {
        pfd[n].fd = d.value.fd; /* a QUIC object has one socket for reading and writing */
        pfd[n].events = events;
        pfd[n++].revents = 0;
    }
    if (extra_fd >= 0) {
        pfd[n].fd = extra_fd;
        pfd[n].events = POLLIN;
        pfd[n].revents = 0;
        extra = n++;
    }
    if (n > 0 || timeout_ms >= 0)
        poll(n > 0 ? pfd : NULL, n, timeout_ms);
    SSL_handle_events(s);
    ERR_clear_error(); /* failures surface through the next real call */
    return extra >= 0 && (pfd[extra].revents & (POLLIN | POLLHUP)) != 0;
}

/* Sleep until the network or OpenSSL's timer needs attention, then let OpenSSL work. */
static inline void wait_for_network(SSL *s)
{
    wait_for_network_or(s, -1, 0);
}


#endif
