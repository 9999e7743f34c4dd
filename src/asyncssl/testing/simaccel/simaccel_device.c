/*
 * The simulated device: a worker thread that completes submitted operations after a
 * configurable latency, and the pause/notify protocol of an async-capable provider.
 *
 * Theory of operation (what a hardware accelerator's provider does, e.g. Intel QAT's):
 *
 * 1. Inside an async job (ASYNC_get_current_job() != NULL) the operation is queued for
 *    the worker and the job pauses (ASYNC_pause_job).  No core upcall exists for this,
 *    so libcrypto's ASYNC_* calls are made directly.
 * 2. The worker runs the operation when its latency has passed, then signals the job's
 *    ASYNC_WAIT_CTX: through the callback when the application set one (it is called
 *    on the worker thread, after the status is set), else by writing one byte to a pipe
 *    whose read end is published as the wait fd.
 * 3. The application resumes the job.  A resume before completion (spurious) pauses
 *    again.  After completion the job drains the wakeup byte and returns the result.
 * 4. Outside a job the caller blocks until the worker has completed the operation.
 *
 * Invariants:
 *  I1. The worker writes the wakeup byte and marks the request done in one critical
 *      section (simaccel_lock).  A job woken by the byte therefore finds "done" (it
 *      waits for the lock rather than pausing again for nothing), and a job that sees
 *      "done" always finds the byte to drain: the fd never stays readable.
 *  I2. A request is freed by the submitting thread only once the worker marked it
 *      "notified"; after that the worker touches neither the request nor the wait ctx
 *      nor the callback's argument, so the application may free them.
 *  I3. The pipe is reference counted (the wait ctx and each queued request), so the
 *      wait ctx may be freed while a request is in flight without the worker writing
 *      to a closed -- or reused -- descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/async.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include "simaccel_int.h"

enum simaccel_notify { SIMACCEL_SYNC, SIMACCEL_FD, SIMACCEL_CALLBACK };

struct simaccel_pipe {
    int rfd, wfd;
    int refs; /* under simaccel_lock */
};

struct simaccel_req {
    struct simaccel_req *next;
    struct timespec due;
    simaccel_work_fn *work; /* NULL: a notification only (the EAGAIN retry request) */
    void *arg;
    int inject_fail;
    enum simaccel_notify notify;
    struct simaccel_pipe *pipe;  /* SIMACCEL_FD */
    ASYNC_callback_fn cb;        /* SIMACCEL_CALLBACK */
    void *cbarg;
    ASYNC_WAIT_CTX *waitctx;     /* SIMACCEL_CALLBACK: its status is set before the callback */
    int result;                  /* the rest is under simaccel_lock */
    int done;
    int notified;
};

static pthread_mutex_t simaccel_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialises starting and stopping the worker (held across pthread_join, so never
   taken while simaccel_lock is held). */
static pthread_mutex_t simaccel_lifecycle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t simaccel_once = PTHREAD_ONCE_INIT;
static pthread_cond_t simaccel_work_cond; /* the worker: new work, or stop */
static pthread_cond_t simaccel_done_cond; /* submitters: a request was notified */
static struct simaccel_req *simaccel_queue; /* sorted by due time */
static pthread_t simaccel_worker;
static int simaccel_worker_running, simaccel_worker_stop, simaccel_users;
/* In a child of fork(): the device was on, but its worker thread did not come along.
   The next submission starts a new one; release must not join the missing one. */
static int simaccel_worker_lost;
static double simaccel_latency = 0.001;
static unsigned simaccel_fail_every, simaccel_eagain_every;
static struct simaccel_stats simaccel_counters;
static FILE *simaccel_trace;
static OSSL_LIB_CTX *simaccel_libctx;   /* the device's: the default provider does the math */
static OSSL_PROVIDER *simaccel_default;

/* Its address is the wait fd's key in every ASYNC_WAIT_CTX. */
static const char simaccel_wait_key = 0;

/* fork(): hold both locks across it, so the child never inherits one held by a thread
   that does not exist there; the child gets fresh condition variables (the worker may
   have been waiting on one) and notes that its worker is gone. */
static void simaccel_fork_prepare(void)
{
    pthread_mutex_lock(&simaccel_lifecycle_lock);
    pthread_mutex_lock(&simaccel_lock);
}

static void simaccel_fork_parent(void)
{
    pthread_mutex_unlock(&simaccel_lock);
    pthread_mutex_unlock(&simaccel_lifecycle_lock);
}

static void simaccel_make_conds(void)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    /* Deadlines are monotonic: a wall-clock step must not stall or rush the device. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&simaccel_work_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&simaccel_done_cond, NULL);
}

static void simaccel_fork_child(void)
{
    simaccel_make_conds();
    if (simaccel_worker_running)
        simaccel_worker_lost = 1;
    pthread_mutex_unlock(&simaccel_lock);
    pthread_mutex_unlock(&simaccel_lifecycle_lock);
}

static void *simaccel_worker_main(void *unused);

/* Called with simaccel_lock held: a forked child's device gets its worker back. */
static void simaccel_revive_worker_locked(void)
{
    if (simaccel_worker_running && simaccel_worker_lost) {
        if (pthread_create(&simaccel_worker, NULL, simaccel_worker_main, NULL) != 0)
            simaccel_worker_running = 0;
        simaccel_worker_lost = 0;
    }
}

/* For the application's after-fork hook in the child (os.register_at_fork): restart the
   worker at once, so that requests queued before the fork complete too. Creating a
   thread is not allowed inside the pthread_atfork child handler itself. */
void simaccel_after_fork_child(void)
{
    pthread_mutex_lock(&simaccel_lock);
    simaccel_revive_worker_locked();
    pthread_mutex_unlock(&simaccel_lock);
}

static void simaccel_init_conds(void)
{
    simaccel_make_conds();
    pthread_atfork(simaccel_fork_prepare, simaccel_fork_parent, simaccel_fork_child);
}

void simaccel_configure(double latency, unsigned fail_every, unsigned eagain_every)
{
    pthread_mutex_lock(&simaccel_lock);
    simaccel_latency = latency > 0 ? latency : 0;
    simaccel_fail_every = fail_every;
    simaccel_eagain_every = eagain_every;
    pthread_mutex_unlock(&simaccel_lock);
}

void simaccel_get_stats(struct simaccel_stats *out)
{
    pthread_mutex_lock(&simaccel_lock);
    *out = simaccel_counters;
    pthread_mutex_unlock(&simaccel_lock);
}

void simaccel_reset_stats(void)
{
    pthread_mutex_lock(&simaccel_lock);
    memset(&simaccel_counters, 0, sizeof(simaccel_counters));
    pthread_mutex_unlock(&simaccel_lock);
}

void simaccel_set_trace_file(const char *path)
{
    pthread_mutex_lock(&simaccel_lock);
    if (simaccel_trace != NULL)
        fclose(simaccel_trace);
    simaccel_trace = (path != NULL && *path != '\0') ? fopen(path, "a") : NULL;
    pthread_mutex_unlock(&simaccel_lock);
}

static int simaccel_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void simaccel_deadline(struct timespec *due, double seconds)
{
    long whole = (long)seconds;

    clock_gettime(CLOCK_MONOTONIC, due);
    due->tv_sec += whole;
    due->tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (due->tv_nsec >= 1000000000L) {
        due->tv_sec += 1;
        due->tv_nsec -= 1000000000L;
    }
}

/* --- the wait fd: a pipe shared by the wait ctx and the requests in flight --- */

static void simaccel_pipe_unref(struct simaccel_pipe *p)
{
    int last;

    pthread_mutex_lock(&simaccel_lock);
    last = --p->refs == 0;
    pthread_mutex_unlock(&simaccel_lock);
    if (last) {
        close(p->rfd);
        close(p->wfd);
        free(p);
    }
}

/* Run by ASYNC_WAIT_CTX_free (e.g. SSL_free) for the fd we registered. */
static void simaccel_wait_cleanup(ASYNC_WAIT_CTX *ctx, const void *key, OSSL_ASYNC_FD fd, void *custom)
{
    (void)ctx;
    (void)key;
    (void)fd;
    simaccel_pipe_unref(custom);
}

static int simaccel_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

/* The wait ctx's pipe: looked up first, since set_wait_fd does not de-duplicate keys. */
static struct simaccel_pipe *simaccel_wait_pipe(ASYNC_WAIT_CTX *w)
{
    OSSL_ASYNC_FD fd;
    void *custom = NULL;
    struct simaccel_pipe *p;
    int fds[2];

    if (ASYNC_WAIT_CTX_get_fd(w, &simaccel_wait_key, &fd, &custom) && custom != NULL)
        return custom;
    if (pipe(fds) != 0)
        return NULL;
    p = malloc(sizeof(*p));
    if (p == NULL || !simaccel_nonblocking_cloexec(fds[0]) || !simaccel_nonblocking_cloexec(fds[1])) {
        free(p);
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    p->refs = 1; /* the wait ctx's */
    if (!ASYNC_WAIT_CTX_set_wait_fd(w, &simaccel_wait_key, p->rfd, p, simaccel_wait_cleanup)) {
        close(fds[0]);
        close(fds[1]);
        free(p);
        return NULL;
    }
    return p;
}

/* --- the worker --- */

static void simaccel_complete(struct simaccel_req *r)
{
    int result;

    if (r->work == NULL)
        result = 1;
    else if (r->inject_fail)
        result = 0;
    else
        result = r->work(r->arg) > 0;
    /* Errors of the delegated call land on this thread's queue; the submitting
       thread reports the failure on its own queue. */
    ERR_clear_error();

    if (r->notify == SIMACCEL_FD) {
        char byte = 1;
        ssize_t n;
        struct simaccel_pipe *p = r->pipe;
        int last;

        pthread_mutex_lock(&simaccel_lock);
        do {
            n = write(p->wfd, &byte, 1); /* I1: with "done", under the lock */
        } while (n < 0 && errno == EINTR);
        r->result = result;
        r->done = r->notified = 1;
        if (r->work != NULL)
            simaccel_counters.fd_notifications++;
        last = --p->refs == 0;
        pthread_cond_broadcast(&simaccel_done_cond);
        pthread_mutex_unlock(&simaccel_lock);
        if (last) {
            close(p->rfd);
            close(p->wfd);
            free(p);
        }
    } else if (r->notify == SIMACCEL_CALLBACK) {
        ASYNC_callback_fn cb = r->cb;
        void *cbarg = r->cbarg;

        /* The callback may read the status (SSL_get_async_status): set it first. */
        if (r->work != NULL)
            ASYNC_WAIT_CTX_set_status(r->waitctx, result ? ASYNC_STATUS_OK : ASYNC_STATUS_ERR);
        pthread_mutex_lock(&simaccel_lock);
        r->result = result;
        r->done = 1;
        if (r->work != NULL)
            simaccel_counters.callback_notifications++;
        pthread_mutex_unlock(&simaccel_lock);
        cb(cbarg);
        pthread_mutex_lock(&simaccel_lock);
        r->notified = 1; /* I2 */
        pthread_cond_broadcast(&simaccel_done_cond);
        pthread_mutex_unlock(&simaccel_lock);
    } else {
        pthread_mutex_lock(&simaccel_lock);
        r->result = result;
        r->done = r->notified = 1;
        pthread_cond_broadcast(&simaccel_done_cond);
        pthread_mutex_unlock(&simaccel_lock);
    }
}

static void *simaccel_worker_main(void *unused)
{
    struct timespec now;

    (void)unused;
    pthread_mutex_lock(&simaccel_lock);
    for (;;) {
        struct simaccel_req *r = simaccel_queue;

        if (r == NULL) {
            if (simaccel_worker_stop)
                break;
            pthread_cond_wait(&simaccel_work_cond, &simaccel_lock);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (simaccel_before(&now, &r->due)) {
            pthread_cond_timedwait(&simaccel_work_cond, &simaccel_lock, &r->due);
            continue;
        }
        simaccel_queue = r->next;
        pthread_mutex_unlock(&simaccel_lock);
        simaccel_complete(r);
        pthread_mutex_lock(&simaccel_lock);
    }
    pthread_mutex_unlock(&simaccel_lock);
    OPENSSL_thread_stop(); /* this thread's OpenSSL state, before a module is unloaded */
    return NULL;
}

OSSL_LIB_CTX *simaccel_device_acquire(void)
{
    OSSL_LIB_CTX *libctx = NULL;

    pthread_once(&simaccel_once, simaccel_init_conds);
    pthread_mutex_lock(&simaccel_lifecycle_lock);
    if (simaccel_users == 0) {
        /* The device's library context is created with the worker and freed only after
           the worker has stopped (OPENSSL_thread_stop): the worker's thread-local OpenSSL
           state (its DRBGs) refers to it, and OpenSSL 3.0 crashes in OPENSSL_thread_stop
           if a context that a live thread used was freed first. */
        simaccel_libctx = OSSL_LIB_CTX_new();
        simaccel_default = simaccel_libctx != NULL ? OSSL_PROVIDER_load(simaccel_libctx, "default") : NULL;
        simaccel_worker_stop = 0;
        if (simaccel_default == NULL
            || pthread_create(&simaccel_worker, NULL, simaccel_worker_main, NULL) != 0) {
            if (simaccel_default != NULL)
                OSSL_PROVIDER_unload(simaccel_default);
            OSSL_LIB_CTX_free(simaccel_libctx);
            simaccel_default = NULL;
            simaccel_libctx = NULL;
            pthread_mutex_unlock(&simaccel_lifecycle_lock);
            return NULL;
        }
        pthread_mutex_lock(&simaccel_lock);
        simaccel_worker_running = 1;
        pthread_mutex_unlock(&simaccel_lock);
    }
    simaccel_users++;
    libctx = simaccel_libctx;
    pthread_mutex_unlock(&simaccel_lifecycle_lock);
    return libctx;
}

void simaccel_device_release(void)
{
    pthread_mutex_lock(&simaccel_lifecycle_lock);
    if (simaccel_users > 0 && --simaccel_users == 0) {
        /* The worker drains what is queued, then exits; it must be gone before a
           provider module's code is unmapped, and before its library context is freed. */
        int lost;

        pthread_mutex_lock(&simaccel_lock);
        simaccel_worker_stop = 1;
        simaccel_worker_running = 0;
        lost = simaccel_worker_lost;
        simaccel_worker_lost = 0;
        pthread_cond_signal(&simaccel_work_cond);
        pthread_mutex_unlock(&simaccel_lock);
        if (!lost)
            pthread_join(simaccel_worker, NULL);
        OSSL_PROVIDER_unload(simaccel_default);
        OSSL_LIB_CTX_free(simaccel_libctx);
        simaccel_default = NULL;
        simaccel_libctx = NULL;
    }
    pthread_mutex_unlock(&simaccel_lifecycle_lock);
}

/* --- submission --- */

static int simaccel_enqueue(struct simaccel_req *r, double latency)
{
    struct simaccel_req **pp;

    simaccel_deadline(&r->due, latency);
    pthread_mutex_lock(&simaccel_lock);
    simaccel_revive_worker_locked();   /* first submission in a forked child */
    if (!simaccel_worker_running) {
        pthread_mutex_unlock(&simaccel_lock);
        return 0;
    }
    if (r->pipe != NULL)
        r->pipe->refs++; /* I3 */
    for (pp = &simaccel_queue; *pp != NULL && !simaccel_before(&r->due, &(*pp)->due); pp = &(*pp)->next)
        ;
    r->next = *pp;
    *pp = r;
    pthread_cond_signal(&simaccel_work_cond);
    pthread_mutex_unlock(&simaccel_lock);
    return 1;
}

static void simaccel_wait_notified(struct simaccel_req *r)
{
    pthread_mutex_lock(&simaccel_lock);
    while (!r->notified)
        pthread_cond_wait(&simaccel_done_cond, &simaccel_lock);
    pthread_mutex_unlock(&simaccel_lock);
}

/* Submit r and wait for it: pausing the current job, or blocking outside one.
   Returns the number of pauses, or -1 if the device is not running. */
static int simaccel_submit_and_wait(struct simaccel_req *r, double latency)
{
    int pauses = 0, done;

    if (!simaccel_enqueue(r, latency))
        return -1;
    if (r->notify == SIMACCEL_SYNC) {
        simaccel_wait_notified(r);
        return 0;
    }
    for (;;) {
        if (!ASYNC_pause_job()) {
            /* Could not switch back to the caller: complete like a synchronous call. */
            break;
        }
        pauses++;
        pthread_mutex_lock(&simaccel_lock);
        done = r->done;
        simaccel_counters.pauses++;
        if (!done)
            simaccel_counters.spurious_resumes++;
        pthread_mutex_unlock(&simaccel_lock);
        if (done)
            break;
        /* Resumed before the device completed (the application retried early, or
           pausing is blocked by ASYNC_block_pause): pause again. */
    }
    /* The worker may still be inside the application's callback (I2). */
    simaccel_wait_notified(r);
    if (r->notify == SIMACCEL_FD) {
        char byte;
        ssize_t n;

        do {
            n = read(r->pipe->rfd, &byte, 1); /* I1: the byte is there */
        } while (n < 0 && errno == EINTR);
    }
    return pauses;
}

static void simaccel_trace_op(unsigned long opno, enum simaccel_notify mode, int pauses, int eagain, int result)
{
    static const char *const names[] = { "sync", "fd", "callback" };

    pthread_mutex_lock(&simaccel_lock);
    if (simaccel_trace != NULL) {
        fprintf(simaccel_trace, "op=%lu mode=%s pauses=%d eagain=%d result=%s\n", opno, names[mode], pauses,
                eagain, result ? "ok" : "fail");
        fflush(simaccel_trace);
    }
    pthread_mutex_unlock(&simaccel_lock);
}

int simaccel_offload(const struct simaccel_provctx *prov, simaccel_work_fn *work, void *arg)
{
    ASYNC_JOB *job = ASYNC_get_current_job();
    ASYNC_WAIT_CTX *w = NULL;
    struct simaccel_req req, retry;
    unsigned long opno;
    unsigned fail_every, eagain_every;
    double latency;
    int eagain, pauses = 0, n;

    memset(&req, 0, sizeof(req));
    pthread_mutex_lock(&simaccel_lock);
    opno = ++simaccel_counters.operations;
    latency = simaccel_latency;
    fail_every = simaccel_fail_every;
    eagain_every = simaccel_eagain_every;
    if (job == NULL)
        simaccel_counters.sync_operations++;
    pthread_mutex_unlock(&simaccel_lock);

    req.work = work;
    req.arg = arg;
    req.inject_fail = fail_every != 0 && opno % fail_every == 0;
    eagain = job != NULL && eagain_every != 0 && opno % eagain_every == 0;
    if (job == NULL) {
        req.notify = SIMACCEL_SYNC;
    } else {
        w = ASYNC_get_wait_ctx(job);
        if (ASYNC_WAIT_CTX_get_callback(w, &req.cb, &req.cbarg) && req.cb != NULL) {
            req.notify = SIMACCEL_CALLBACK;
            req.waitctx = w;
        } else {
            req.notify = SIMACCEL_FD;
            req.pipe = simaccel_wait_pipe(w);
            if (req.pipe == NULL) {
                ASYNC_WAIT_CTX_set_status(w, ASYNC_STATUS_ERR);
                simaccel_raise(prov, SIMACCEL_R_DEVICE_ERROR, "cannot create the wait fd: %s", strerror(errno));
                return 0;
            }
        }
    }

    /* The request lives on this (fibre) stack: it stays valid while the job is
       paused, and this function returns only after the worker let go of it (I2). */
    if (eagain) {
        /* The device refuses the submission ("queue full"): tell the application to
           retry the call at once (status EAGAIN, then the usual wakeup), then submit again. */
        retry = req;
        retry.work = NULL;
        retry.inject_fail = 0;
        ASYNC_WAIT_CTX_set_status(w, ASYNC_STATUS_EAGAIN);
        pthread_mutex_lock(&simaccel_lock);
        simaccel_counters.eagains++;
        pthread_mutex_unlock(&simaccel_lock);
        n = simaccel_submit_and_wait(&retry, 0.0);
        if (n < 0)
            goto not_running;
        pauses += n;
    }
    if (w != NULL)
        ASYNC_WAIT_CTX_set_status(w, ASYNC_STATUS_OK); /* submitted: a completion will come */
    n = simaccel_submit_and_wait(&req, latency);
    if (n < 0)
        goto not_running;
    pauses += n;

    pthread_mutex_lock(&simaccel_lock);
    simaccel_counters.completed++;
    if (!req.result)
        simaccel_counters.failures++;
    pthread_mutex_unlock(&simaccel_lock);
    if (w != NULL)
        ASYNC_WAIT_CTX_set_status(w, req.result ? ASYNC_STATUS_OK : ASYNC_STATUS_ERR);
    simaccel_trace_op(opno, req.notify, pauses, eagain, req.result);
    if (!req.result) {
        if (req.inject_fail)
            simaccel_raise(prov, SIMACCEL_R_INJECTED_FAILURE, "operation %lu (fail_every=%u)", opno, fail_every);
        else
            simaccel_raise(prov, SIMACCEL_R_OPERATION_FAILED, "operation %lu", opno);
    }
    return req.result;

not_running:
    if (w != NULL)
        ASYNC_WAIT_CTX_set_status(w, ASYNC_STATUS_ERR);
    simaccel_raise(prov, SIMACCEL_R_DEVICE_ERROR, "the simulated device is not running");
    return 0;
}
