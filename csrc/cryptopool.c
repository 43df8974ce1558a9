/* See cryptopool.h. */
#ifdef __linux__
#define _GNU_SOURCE  /* pthread_setname_np */
#endif
#include "cryptopool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#define CP_INLINE 512

typedef struct {
    unsigned char public_key[32];
    unsigned char *message;          /* signature || signed bytes: inline_bytes, or malloc'd when longer */
    size_t length;                   /* of message, signature included */
    atomic_int state;                /* CP_PENDING until a verifier stores the result (release) */
    unsigned char inline_bytes[CP_INLINE + 64];
} cp_job;

struct cp_pool {
    cp_verify_fn verify;
    cp_job *jobs;
    size_t capacity;
    size_t head;                     /* next sequence to submit (loop thread; read under the lock) */
    size_t claim;                    /* next sequence to claim (under the lock) */
    size_t tail;                     /* oldest undelivered sequence (loop thread only) */
    size_t heap_bytes, heap_limit;   /* bytes of malloc'd messages queued (loop thread only) */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int idle;                        /* workers waiting on `wake` */
    int stopping;
    int threads;
    pthread_t *ids;
    int read_fd, write_fd;           /* eventfd (both the same) or a pipe */
    atomic_int notified;
    unsigned char *scratch;          /* crypto_sign_open's output on the loop thread (cp_steal) */
    size_t scratch_size;
};

static atomic_int live_threads;

static void notify(cp_pool *pool) {
    if (atomic_exchange(&pool->notified, 1))
        return;
    ssize_t written;
#ifdef __linux__
    if (pool->read_fd == pool->write_fd) {
        unsigned long long one = 1;
        do written = write(pool->write_fd, &one, sizeof one); while (written < 0 && errno == EINTR);
        return;
    }
#endif
    char byte = 1;
    do written = write(pool->write_fd, &byte, 1); while (written < 0 && errno == EINTR);
}

/* Verify one claimed job; `scratch` (of `*size` bytes) grows to the opened message's size as needed. */
static void run(cp_pool *pool, size_t sequence, unsigned char **scratch, size_t *size) {
    cp_job *job = &pool->jobs[sequence % pool->capacity];
    int result = -1;
    if (*size < job->length) {
        unsigned char *grown = realloc(*scratch, job->length);
        if (grown != NULL) {
            *scratch = grown;
            *size = job->length;
        }
    }
    if (*size >= job->length) {
        unsigned long long opened = 0;
        result = pool->verify(*scratch, &opened, job->message, job->length, job->public_key);
    }
    /* seq_cst, as the `notified` exchange after it and the loads in cp_front: see cp_clear */
    atomic_store(&job->state, result == 0 ? CP_VALID : CP_INVALID);
}

static void *worker(void *argument) {
    cp_pool *pool = argument;
    unsigned char *scratch = NULL;
    size_t size = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && pool->claim == pool->head) {
            pool->idle++;
            pthread_cond_wait(&pool->wake, &pool->lock);
            pool->idle--;
        }
        if (pool->stopping)
            break;
        size_t sequence = pool->claim++;
        pthread_mutex_unlock(&pool->lock);
        run(pool, sequence, &scratch, &size);
        notify(pool);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    free(scratch);
    atomic_fetch_sub(&live_threads, 1);
    return NULL;
}

static int open_notifier(cp_pool *pool) {
#ifdef __linux__
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
        pool->read_fd = pool->write_fd = fd;
        return 0;
    }
#endif
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    pool->read_fd = fds[0];
    pool->write_fd = fds[1];
    return 0;
}

static void stop(cp_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->threads; i++)
        pthread_join(pool->ids[i], NULL);
    pool->threads = 0;
}

cp_pool *cp_create(cp_verify_fn verify, size_t capacity, size_t heap_limit, int threads) {
    if (verify == NULL || capacity == 0 || threads < 1) {
        errno = EINVAL;
        return NULL;
    }
    cp_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    pool->verify = verify;
    pool->capacity = capacity;
    pool->heap_limit = heap_limit;
    pool->jobs = calloc(capacity, sizeof *pool->jobs);
    pool->ids = calloc((size_t)threads, sizeof *pool->ids);
    pool->read_fd = pool->write_fd = -1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    if (pool->jobs == NULL || pool->ids == NULL || open_notifier(pool) != 0) {
        int error = errno;
        cp_destroy(pool);
        errno = error;
        return NULL;
    }
    /* workers block every signal: Python's handlers run on the main thread, as they expect */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    int error = 0;
    for (int i = 0; i < threads; i++) {
        error = pthread_create(&pool->ids[i], NULL, worker, pool);
        if (error != 0)
            break;
#ifdef __linux__
        pthread_setname_np(pool->ids[i], "ipv8fast-verify");  /* so tools and tests can tell the workers apart */
#endif
        pool->threads++;
        atomic_fetch_add(&live_threads, 1);
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (error != 0) {
        cp_destroy(pool);
        errno = error;
        return NULL;
    }
    return pool;
}

int cp_submit(cp_pool *pool, const unsigned char *signature, const unsigned char *public_key,
              const unsigned char *message, size_t length) {
    if (pool->head - pool->tail >= pool->capacity)
        return -1;
    cp_job *job = &pool->jobs[pool->head % pool->capacity];
    if (length > CP_INLINE) {
        if (pool->heap_bytes + length + 64 > pool->heap_limit)
            return -1;
        job->message = malloc(length + 64);
        if (job->message == NULL)
            return -1;
        pool->heap_bytes += length + 64;
    } else {
        job->message = job->inline_bytes;
    }
    memcpy(job->message, signature, 64);
    memcpy(job->message + 64, message, length);
    memcpy(job->public_key, public_key, 32);
    job->length = length + 64;
    atomic_store_explicit(&job->state, CP_PENDING, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    pool->head++;
    if (pool->idle > 0)
        pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int cp_steal(cp_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    if (pool->claim == pool->head) {
        pthread_mutex_unlock(&pool->lock);
        return 0;
    }
    size_t sequence = pool->claim++;
    pthread_mutex_unlock(&pool->lock);
    run(pool, sequence, &pool->scratch, &pool->scratch_size);
    return 1;
}

size_t cp_unclaimed(cp_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    size_t unclaimed = pool->head - pool->claim;
    pthread_mutex_unlock(&pool->lock);
    return unclaimed;
}

int cp_front(cp_pool *pool) {
    if (pool->tail == pool->head)
        return CP_EMPTY;
    return atomic_load(&pool->jobs[pool->tail % pool->capacity].state);
}

int cp_wait_front(cp_pool *pool) {
    int state;
    while ((state = cp_front(pool)) == CP_PENDING) {
        if (!cp_steal(pool))
            sched_yield();
    }
    return state;
}

void cp_pop(cp_pool *pool) {
    cp_job *job = &pool->jobs[pool->tail % pool->capacity];
    if (job->message != job->inline_bytes) {
        free(job->message);
        pool->heap_bytes -= job->length;
    }
    job->message = NULL;
    pool->tail++;
}

size_t cp_queued(cp_pool *pool) { return pool->head - pool->tail; }

int cp_fd(cp_pool *pool) { return pool->read_fd; }

void cp_clear(cp_pool *pool) {
    /* Drain first, then re-arm: the other order loses a wakeup. A worker that completes a job between
     * re-arming and draining writes the descriptor, the drain eats that write, and a later worker that
     * completes the job the loop is waiting for sees `notified` still set and writes nothing. Here, a worker
     * finishing before the re-arm sees `notified` set and skips its write, but its job's state (stored
     * before its exchange, both seq_cst) is visible to the delivery that follows this call. */
    unsigned char buffer[64];
    while (read(pool->read_fd, buffer, sizeof buffer) > 0) {
    }
    atomic_store(&pool->notified, 0);
}

void cp_destroy(cp_pool *pool) {
    if (pool == NULL)
        return;
    if (pool->threads > 0)
        stop(pool);
    if (pool->jobs != NULL) {
        while (pool->tail != pool->head) {
            /* unclaimed jobs are never run now; claimed ones finished before their worker exited */
            cp_pop(pool);
        }
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    if (pool->read_fd >= 0)
        close(pool->read_fd);
    if (pool->write_fd >= 0 && pool->write_fd != pool->read_fd)
        close(pool->write_fd);
    free(pool->jobs);
    free(pool->ids);
    free(pool->scratch);
    free(pool);
}

int cp_live_threads(void) { return atomic_load(&live_threads); }
