/* Ed25519 verification on worker threads: a bounded ring of jobs, completed in submission order.
 *
 * The event-loop thread submits, steals and delivers; worker threads only claim, verify and mark done. No
 * Python object is touched here: a job holds copies of the signed bytes, the signature and the public key.
 */
#ifndef IPV8FAST_CRYPTOPOOL_H
#define IPV8FAST_CRYPTOPOOL_H

#include <stddef.h>

/* libsodium's crypto_sign_open: (message out, its length out, signature || message, length, public key) */
typedef int (*cp_verify_fn)(unsigned char *opened, unsigned long long *opened_length, const unsigned char *signed_message,
                            unsigned long long signed_length, const unsigned char *public_key);

enum { CP_PENDING = 0, CP_VALID = 1, CP_INVALID = 2, CP_EMPTY = -1 };

typedef struct cp_pool cp_pool;

/* A pool of `threads` workers (>= 1) and `capacity` job slots; NULL with errno set on failure. */
cp_pool *cp_create(cp_verify_fn verify, size_t capacity, size_t heap_limit, int threads);
/* Queue one verification; 0, or -1 when the ring or the heap budget is full (nothing queued). */
int cp_submit(cp_pool *pool, const unsigned char *signature, const unsigned char *public_key,
              const unsigned char *message, size_t length);
/* Verify the oldest unclaimed job on the calling thread; 1 if one was done, 0 if none was left. */
int cp_steal(cp_pool *pool);
/* Jobs submitted that no thread has claimed yet. */
size_t cp_unclaimed(cp_pool *pool);
/* State of the oldest undelivered job: CP_PENDING, CP_VALID, CP_INVALID, or CP_EMPTY. */
int cp_front(cp_pool *pool);
/* Wait (yielding) until the oldest undelivered job is done; its state, or CP_EMPTY. */
int cp_wait_front(cp_pool *pool);
/* Release the oldest undelivered job (after cp_front said it is done). */
void cp_pop(cp_pool *pool);
/* Jobs submitted and not yet popped. */
size_t cp_queued(cp_pool *pool);
/* The descriptor that becomes readable when a job completes; cp_clear before looking at the jobs. */
int cp_fd(cp_pool *pool);
void cp_clear(cp_pool *pool);
/* Stop and join the workers (each finishes the job it holds), free everything. */
void cp_destroy(cp_pool *pool);
/* Worker threads currently alive in all pools of this process. */
int cp_live_threads(void);

#endif
