/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKENDS_HOST_H
#define VMRD_BACKENDS_HOST_H

/*
 * The host-link backend ("host", the default): speaks the line protocol of
 * core/proto.h with vmrd-host over a virtio-serial port or AF_VSOCK.
 *
 * Link.  The port is the virtio-serial port whose
 * sys/class/virtio-ports/<dev>/name (under rootfd) is `port_name`
 * (default org.vmrd.0), opened as dev/<dev>; `device` names the file or a
 * unix socket to use instead (tests, odd setups); `vsock_port` connects to
 * the host (CID 2) over AF_VSOCK instead.  open() fails when the first
 * connection cannot be made (the daemon retries it with backoff); a link
 * lost later is re-established inside the backend with exponential backoff
 * between backoff_min and backoff_max (1 s .. 30 s), and reported with
 * VMRD_BACKEND_EV_LINK.
 *
 * Exchange.  On connect the guest sends `hello` (current = MemTotal, block
 * = the guest's memory block size); the host's `welcome` brings the link up
 * (EV_LINK 1, EV_LIMITS) and its view of the VM: current/min/max/block,
 * which query() then reports.  Until the welcome, query() reports
 * MemTotal with min = max = current, so the policy asks for nothing.
 * A hello answered `error reason=rate_limited` (the host's budget of
 * hellos) is said again on the same link after the link's backoff, which
 * doubles with each refusal until a welcome: hurrying would only add to
 * the host's count of errors, which disconnects a guest past its limit.
 *
 * A request is sent as `request`; the host answers with
 *   `grant seq target current`: the backend waits until MemTotal has moved
 *      by (target - current), within 1/32 of it for memmap and rounding,
 *      then sends `done` and ends the request with status 0, reason
 *      "granted" (or "partial" when the host granted less than asked);
 *      after confirm_timeout (10 s) it ends with -ETIMEDOUT "timeout";
 *   `deny seq reason`: status -EAGAIN with the host's reason word;
 *   `error reason` while waiting for the answer: -EPROTO with its word;
 *   nothing within reply_timeout (10 s): -ETIMEDOUT "no_reply";
 *   the link going down before the answer: -ENOTCONN "link_down".
 * `reclaim` becomes EV_RECLAIM and `limits` EV_LIMITS.  report() sends a
 * `report` line when the link is up; reports are dropped, never queued
 * without bound, when the host does not read.
 *
 * fd() is an epoll descriptor (link and one timerfd), the same for the
 * backend's life.  Config keys ([backend]): port_name, device, vsock_port,
 * confirm_timeout, reply_timeout, backoff_min, backoff_max (durations).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Find the virtio-serial port called name: writes "dev/<port>" into buf.  -ENOENT if none. */
int host_find_port(int rootfd, const char *name, char *buf, size_t size);

/*
 * Open the link: AF_VSOCK to the host's vsock_port when it is nonzero,
 * else device (a unix socket is connected, anything else opened; relative
 * paths are under rootfd), else the port called port_name.  Returns a
 * non-blocking descriptor; *ret_connecting says a socket connect is still
 * in progress (done when it turns writable).
 */
int host_link_open(int rootfd, const char *device, const char *port_name, uint32_t vsock_port,
		   bool *ret_connecting);

#endif
