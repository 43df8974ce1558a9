/* Batched UDP datagram I/O: see udpio.h. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif

#include "udpio.h"

#include <errno.h>
#include <string.h>

#if defined(_WIN32)

int udpio_available(void) { return 0; }
int udpio_enable_gro(int fd) { (void)fd; return 0; }
int udpio_probe_gso(int fd) { (void)fd; return 0; }
int udpio_parse_address(int family, const char *host, int port, udpio_addr *out)
{
    (void)family; (void)host; (void)port; (void)out;
    return -1;
}
int udpio_format_address(const udpio_addr *address, char *host, size_t host_size, int *port)
{
    (void)address; (void)host; (void)host_size; (void)port;
    return -1;
}
int udpio_recv(int fd, char *buffer, udpio_datagram *out, int max_count)
{
    (void)fd; (void)buffer; (void)out; (void)max_count;
    return -ENOSYS;
}
int udpio_send(int fd, const udpio_outgoing *datagrams, int count, int *use_gso, int *error)
{
    (void)fd; (void)datagrams; (void)count; (void)use_gso;
    *error = ENOSYS;
    return 0;
}

#else /* POSIX */

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#if defined(__linux__)
#include <netinet/udp.h>
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#define UDPIO_MMSG 1
/* the kernel's UDP_MAX_SEGMENTS (64 before Linux 6.x raised it) and a segment size every path carries */
#define UDPIO_GSO_MAX_SEGMENTS 64
#define UDPIO_GSO_MAX_SEGMENT 1232
#define UDPIO_GSO_MAX_TOTAL 65000
#endif

int udpio_available(void) { return 1; }

int udpio_enable_gro(int fd)
{
#if defined(UDPIO_MMSG)
    int one = 1;
    return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
#else
    (void)fd;
    return 0;
#endif
}

/* Kernels before 4.18 ignore an unknown SOL_UDP control message and would send a run as ONE datagram:
 * only use segmentation where the socket option is known. */
int udpio_probe_gso(int fd)
{
#if defined(UDPIO_MMSG)
    int value = 0;
    socklen_t length = sizeof(value);
    return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &length) == 0;
#else
    (void)fd;
    return 0;
#endif
}

int udpio_parse_address(int family, const char *host, int port, udpio_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (port < 0 || port > 65535) {
        return -1;
    }
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out->raw;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        out->length = sizeof(*sin);
        return 0;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out->raw;
        char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
        const char *percent = strchr(host, '%');
        size_t length = percent ? (size_t)(percent - host) : strlen(host);
        if (length >= INET6_ADDRSTRLEN) {
            return -1;
        }
        memcpy(text, host, length);
        text[length] = '\0';
        if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
            return -1;
        }
        if (percent != NULL) {
            char *end = NULL;
            unsigned long scope = strtoul(percent + 1, &end, 10);
            if (end == percent + 1 || *end != '\0') {
                scope = if_nametoindex(percent + 1);
                if (scope == 0) {
                    return -1;
                }
            }
            sin6->sin6_scope_id = (uint32_t)scope;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        out->length = sizeof(*sin6);
        return 0;
    }
    return -1;
}

int udpio_format_address(const udpio_addr *address, char *host, size_t host_size, int *port)
{
    const struct sockaddr *sa = (const struct sockaddr *)address->raw;
    if (address->length >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)host_size) == NULL) {
            return -1;
        }
        *port = ntohs(sin->sin_port);
        return (int)strlen(host);
    }
    if (address->length >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        size_t length;
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, (socklen_t)host_size) == NULL) {
            return -1;
        }
        length = strlen(host);
        if (sin6->sin6_scope_id != 0 && length + IF_NAMESIZE + 2 <= host_size) {
            /* as getnameinfo(NI_NUMERICHOST) writes it, which is what Python's recvfrom returns */
            char name[IF_NAMESIZE];
            host[length++] = '%';
            if (if_indextoname(sin6->sin6_scope_id, name) != NULL) {
                strcpy(host + length, name);
            } else {
                snprintf(host + length, host_size - length, "%u", (unsigned)sin6->sin6_scope_id);
            }
            length = strlen(host);
        }
        *port = ntohs(sin6->sin6_port);
        return (int)length;
    }
    return -1;
}

static int would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

#if defined(UDPIO_MMSG)

int udpio_recv(int fd, char *buffer, udpio_datagram *out, int max_count)
{
    struct mmsghdr messages[UDPIO_RECV_BATCH];
    struct iovec vectors[UDPIO_RECV_BATCH];
    char controls[UDPIO_RECV_BATCH][CMSG_SPACE(sizeof(int))];
    int received, i;
    if (max_count > UDPIO_RECV_BATCH) {
        max_count = UDPIO_RECV_BATCH;
    }
    memset(messages, 0, sizeof(messages[0]) * (size_t)max_count);
    for (i = 0; i < max_count; i++) {
        vectors[i].iov_base = buffer + (size_t)i * UDPIO_SLOT_SIZE;
        vectors[i].iov_len = UDPIO_SLOT_SIZE;
        messages[i].msg_hdr.msg_name = out[i].source.raw;
        messages[i].msg_hdr.msg_namelen = sizeof(out[i].source.raw);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = controls[i];
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i]);
    }
    do {
        received = recvmmsg(fd, messages, (unsigned int)max_count, MSG_DONTWAIT, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        return would_block(errno) ? 0 : -errno;
    }
    for (i = 0; i < received; i++) {
        struct msghdr *header = &messages[i].msg_hdr;
        struct cmsghdr *control;
        out[i].data = vectors[i].iov_base;
        out[i].length = messages[i].msg_len;
        out[i].segment = messages[i].msg_len;
        out[i].truncated = (header->msg_flags & MSG_TRUNC) != 0; /* impossible with 64 KiB slots */
        out[i].source.length = header->msg_namelen;
        for (control = CMSG_FIRSTHDR(header); control != NULL; control = CMSG_NXTHDR(header, control)) {
            if (control->cmsg_level == SOL_UDP && control->cmsg_type == UDP_GRO) {
                int segment;
                memcpy(&segment, CMSG_DATA(control), sizeof(segment));
                if (segment > 0) {
                    out[i].segment = (size_t)segment;
                }
            }
        }
    }
    return received;
}

/* A run: datagrams [first, first + count) leave as one message (segmented by the kernel when count > 1). */
static int run_length(const udpio_outgoing *datagrams, int first, int count, int use_gso)
{
    size_t segment = datagrams[first].length, total = segment;
    int length = 1;
    if (!use_gso || segment == 0 || segment > UDPIO_GSO_MAX_SEGMENT) {
        return 1;
    }
    while (first + length < count && length < UDPIO_GSO_MAX_SEGMENTS) {
        const udpio_outgoing *next = &datagrams[first + length];
        if (next->destination != datagrams[first].destination
            && (next->destination->length != datagrams[first].destination->length
                || memcmp(next->destination->raw, datagrams[first].destination->raw,
                          next->destination->length) != 0)) {
            break;
        }
        if (next->length == 0 || next->length > segment || total + next->length > UDPIO_GSO_MAX_TOTAL) {
            break;
        }
        total += next->length;
        length++;
        if (next->length < segment) {
            break; /* only the last segment of a run may be shorter */
        }
    }
    return length;
}

int udpio_send(int fd, const udpio_outgoing *datagrams, int count, int *use_gso, int *error)
{
    static struct mmsghdr messages[UDPIO_SEND_BATCH];
    static struct iovec vectors[UDPIO_SEND_BATCH];
    static char controls[UDPIO_SEND_BATCH][CMSG_SPACE(sizeof(uint16_t))];
    int firsts[UDPIO_SEND_BATCH], lengths[UDPIO_SEND_BATCH];
    int done = 0;
    *error = 0;
    if (count > UDPIO_SEND_BATCH) {
        count = UDPIO_SEND_BATCH;
    }
    while (done < count) {
        int built = 0, next = done, sent, k;
        while (next < count) {
            int length = run_length(datagrams, next, count, *use_gso), j;
            struct msghdr *header = &messages[built].msg_hdr;
            memset(header, 0, sizeof(*header));
            for (j = 0; j < length; j++) {
                vectors[next + j].iov_base = (void *)datagrams[next + j].data;
                vectors[next + j].iov_len = datagrams[next + j].length;
            }
            header->msg_name = (void *)datagrams[next].destination->raw;
            header->msg_namelen = datagrams[next].destination->length;
            header->msg_iov = &vectors[next];
            header->msg_iovlen = (size_t)length;
            if (length > 1) {
                struct cmsghdr *control;
                uint16_t segment = (uint16_t)datagrams[next].length;
                header->msg_control = controls[built];
                header->msg_controllen = sizeof(controls[built]);
                control = CMSG_FIRSTHDR(header);
                control->cmsg_level = SOL_UDP;
                control->cmsg_type = UDP_SEGMENT;
                control->cmsg_len = CMSG_LEN(sizeof(segment));
                memcpy(CMSG_DATA(control), &segment, sizeof(segment));
            }
            firsts[built] = next;
            lengths[built] = length;
            built++;
            next += length;
        }
        do {
            sent = sendmmsg(fd, messages, (unsigned int)built, 0);
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) {
            int failure = errno;
            if (lengths[0] > 1 && !would_block(failure) && failure != ENOBUFS) {
                *use_gso = 0; /* refused by this kernel or route: send the run datagram by datagram */
                continue;
            }
            *error = failure;
            return done;
        }
        for (k = 0; k < sent; k++) {
            done = firsts[k] + lengths[k];
        }
    }
    return done;
}

#else /* POSIX without recvmmsg: one system call per datagram, same contract */

int udpio_recv(int fd, char *buffer, udpio_datagram *out, int max_count)
{
    int received = 0;
    if (max_count > UDPIO_RECV_BATCH) {
        max_count = UDPIO_RECV_BATCH;
    }
    while (received < max_count) {
        char *slot = buffer + (size_t)received * UDPIO_SLOT_SIZE;
        socklen_t name_length = sizeof(out[received].source.raw);
        ssize_t length = recvfrom(fd, slot, UDPIO_SLOT_SIZE, 0, (struct sockaddr *)out[received].source.raw,
                                  &name_length);
        if (length < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (would_block(errno)) {
                break;
            }
            return received > 0 ? received : -errno;
        }
        out[received].data = slot;
        out[received].length = (size_t)length;
        out[received].segment = (size_t)length;
        out[received].truncated = 0;
        out[received].source.length = name_length;
        received++;
    }
    return received;
}

int udpio_send(int fd, const udpio_outgoing *datagrams, int count, int *use_gso, int *error)
{
    int done = 0;
    *use_gso = 0;
    *error = 0;
    while (done < count) {
        const udpio_outgoing *datagram = &datagrams[done];
        ssize_t sent = sendto(fd, datagram->data, datagram->length, 0,
                              (const struct sockaddr *)datagram->destination->raw,
                              (socklen_t)datagram->destination->length);
        if (sent < 0) {
            if (errno == EINTR) {
                continue;
            }
            *error = errno;
            return done;
        }
        done++;
    }
    return done;
}

#endif /* UDPIO_MMSG */
#endif /* POSIX */
