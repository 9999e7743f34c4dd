"""A memory BIO that keeps datagram boundaries, for DTLS in memory-BIO mode.

OpenSSL's BIO_s_mem is a byte stream: two DTLS datagrams queued in it (a flight and its
retransmission, or a flight of several records) come out of ``bio_read(n)`` glued
together or cut at `n`, and a peer that receives a record cut in two drops it — the
handshake then stalls. OpenSSL 3.2 added BIO_s_dgram_mem, but 3.0 has nothing, and one
implementation keeps every version alike: each write is one datagram, each read returns
at most one datagram. A read with a buffer shorter than the datagram takes its first
bytes and leaves the rest as the next read's datagram (nothing is lost; pass a buffer of
at least the MTU to get whole datagrams).

The controls mirror BIO_s_mem's where DTLS or asyncssl asks for them (pending bytes, EOF
and the EOF return value, reset, flush); the datagram controls answer 0 as BIO_s_mem
does, so DTLS picks its MTU the same way over either BIO.
"""

INCLUDES = """
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <openssl/bio.h>
"""

TYPES = """
"""

FUNCTIONS = """
BIO *asyncssl_datagram_bio_new(void);
"""

CUSTOMIZATIONS = """
struct asyncssl_datagram {
    struct asyncssl_datagram *next;
    size_t len, off;            /* bytes [off, len) are still to be read */
    unsigned char data[];
};

struct asyncssl_datagram_queue {
    struct asyncssl_datagram *head, *tail;
    size_t bytes;               /* unread bytes in all datagrams */
    int eof_return;             /* read result when empty: -1 = retry (BIO_s_mem's default) */
};

static void datagram_queue_clear(struct asyncssl_datagram_queue *q)
{
    struct asyncssl_datagram *d = q->head, *next;
    for (; d != NULL; d = next) {
        next = d->next;
        free(d);
    }
    q->head = q->tail = NULL;
    q->bytes = 0;
}

static int datagram_bio_create(BIO *b)
{
    struct asyncssl_datagram_queue *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return 0;
    q->eof_return = -1;
    BIO_set_data(b, q);
    BIO_set_init(b, 1);
    return 1;
}

static int datagram_bio_destroy(BIO *b)
{
    struct asyncssl_datagram_queue *q = BIO_get_data(b);
    if (q != NULL) {
        datagram_queue_clear(q);
        free(q);
        BIO_set_data(b, NULL);
    }
    return 1;
}

static int datagram_bio_write(BIO *b, const char *buf, size_t n, size_t *written)
{
    struct asyncssl_datagram_queue *q = BIO_get_data(b);
    struct asyncssl_datagram *d;
    BIO_clear_retry_flags(b);
    *written = 0;
    if (n == 0)
        return 1;               /* an empty datagram carries no DTLS record */
    d = malloc(sizeof(*d) + n);
    if (d == NULL)
        return 0;
    memcpy(d->data, buf, n);
    d->len = n;
    d->off = 0;
    d->next = NULL;
    if (q->tail != NULL)
        q->tail->next = d;
    else
        q->head = d;
    q->tail = d;
    q->bytes += n;
    *written = n;
    return 1;
}

static int datagram_bio_read(BIO *b, char *buf, size_t n, size_t *readbytes)
{
    struct asyncssl_datagram_queue *q = BIO_get_data(b);
    struct asyncssl_datagram *d = q->head;
    size_t take;
    BIO_clear_retry_flags(b);
    *readbytes = 0;
    if (d == NULL) {
        if (q->eof_return != 0)
            BIO_set_retry_read(b);
        return 0;
    }
    take = d->len - d->off;
    if (take > n)
        take = n;
    memcpy(buf, d->data + d->off, take);
    d->off += take;
    q->bytes -= take;
    if (d->off == d->len) {
        q->head = d->next;
        if (q->head == NULL)
            q->tail = NULL;
        free(d);
    }
    *readbytes = take;
    return 1;
}

static long datagram_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct asyncssl_datagram_queue *q = BIO_get_data(b);
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return (long)q->bytes;
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_EOF:
        return q->head == NULL && q->eof_return == 0;
    case BIO_C_SET_BUF_MEM_EOF_RETURN:
        q->eof_return = (int)num;
        return 1;
    case BIO_CTRL_RESET:
        datagram_queue_clear(q);
        return 1;
    case BIO_CTRL_GET_CLOSE:
        return BIO_get_shutdown(b);
    case BIO_CTRL_SET_CLOSE:
        BIO_set_shutdown(b, (int)num);
        return 1;
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;               /* as BIO_s_mem: no MTU, no peer address, no timeouts */
    }
}

static BIO_METHOD *asyncssl_datagram_method;
static pthread_once_t asyncssl_datagram_method_once = PTHREAD_ONCE_INIT;

static void datagram_method_init(void)
{
    int index = BIO_get_new_index();
    BIO_METHOD *m = index == -1 ? NULL : BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "asyncssl datagram queue");
    if (m == NULL)
        return;
    if (!BIO_meth_set_write_ex(m, datagram_bio_write) || !BIO_meth_set_read_ex(m, datagram_bio_read)
            || !BIO_meth_set_ctrl(m, datagram_bio_ctrl) || !BIO_meth_set_create(m, datagram_bio_create)
            || !BIO_meth_set_destroy(m, datagram_bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    asyncssl_datagram_method = m;   /* lives as long as the process (BIOs may outlive any owner) */
}

/* A new datagram queue BIO, or NULL (error queue set by BIO_new, or no method). */
BIO *asyncssl_datagram_bio_new(void)
{
    pthread_once(&asyncssl_datagram_method_once, datagram_method_init);
    if (asyncssl_datagram_method == NULL)
        return NULL;
    return BIO_new(asyncssl_datagram_method);
}
"""
