/* Batched UDP datagram I/O on a non-blocking socket.
 *
 * Linux: recvmmsg / sendmmsg, plus UDP generic segmentation offload (a run of equal-sized datagrams to one
 * destination leaves as one UDP_SEGMENT send) and UDP_GRO on receive (coalesced runs are split again here).
 * Other POSIX systems: a recvfrom / sendto loop with the same contract. Windows: nothing
 * (udpio_available() == 0); the endpoint uses the asyncio transport there.
 *
 * All functions run with the GIL held by the caller and never block.
 */
#ifndef IPV8FAST_UDPIO_H
#define IPV8FAST_UDPIO_H

#include <stddef.h>
#include <stdint.h>

/* datagrams (or coalesced runs) per receive call; datagrams per send call */
#define UDPIO_RECV_BATCH 32
#define UDPIO_SEND_BATCH 512
/* the largest datagram (or coalesced run) a receive slot holds */
#define UDPIO_SLOT_SIZE 65536

typedef struct {
    unsigned char raw[128]; /* a struct sockaddr_storage */
    uint32_t length;        /* 0: not a usable address */
} udpio_addr;

typedef struct {
    const char *data;
    size_t length;
    size_t segment;    /* GRO segment size: the run splits into pieces of this size (== length if none) */
    int truncated;     /* did not fit its slot: never handed out */
    udpio_addr source;
} udpio_datagram;

typedef struct {
    const char *data;
    size_t length;
    const udpio_addr *destination;
} udpio_outgoing;

/* 1 where this module can drive a socket, 0 where it cannot (the caller falls back). */
int udpio_available(void);

/* Ask the kernel to coalesce received runs (UDP_GRO). 1 if it will, 0 if not. */
int udpio_enable_gro(int fd);

/* 1 if the kernel knows UDP segmentation offload (UDP_SEGMENT) for this socket, else 0. Kernels that do
 * not would send a whole run as one datagram, so segmentation is only used after this said 1. */
int udpio_probe_gso(int fd);

/* Parse a numeric host ("127.0.0.1", "::1", "fe80::1%eth0") and port for the socket family
 * (AF_INET or AF_INET6). 0 on success, -1 if the host is not a numeric address of that family. */
int udpio_parse_address(int family, const char *host, int port, udpio_addr *out);

/* Host text and port of an address. Returns the host length, or -1. */
int udpio_format_address(const udpio_addr *address, char *host, size_t host_size, int *port);

/* Receive up to max_count datagrams (max_count <= UDPIO_RECV_BATCH) into buffer, which holds
 * max_count * UDPIO_SLOT_SIZE bytes. Returns the number received (0: nothing waiting), or -errno. */
int udpio_recv(int fd, char *buffer, udpio_datagram *out, int max_count);

/* Send datagrams in order. Returns how many were handed to the kernel; when that is fewer than count,
 * *error holds the errno of datagram [returned]. *use_gso: 1 to try segmentation offload (set to 0 here
 * if the kernel or route refuses it). */
int udpio_send(int fd, const udpio_outgoing *datagrams, int count, int *use_gso, int *error);

#endif
