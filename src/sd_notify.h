/*
 * sd_notify.h — tells the service manager where `dialtone run` stands (systemd's
 * Type=notify protocol, sd_notify(3)), without linking libsystemd: one datagram with
 * "KEY=value" lines to the AF_UNIX socket named by $NOTIFY_SOCKET ("/path" or "@abstract").
 *
 * `dialtone run` sends READY=1 once it listens with its signal handlers installed,
 * RELOADING=1 … READY=1 around a SIGHUP reload, and STOPPING=1 when it starts draining.
 * Without $NOTIFY_SOCKET (not started by systemd) nothing is sent.
 */
#ifndef DIALTONE_SD_NOTIFY_H
#define DIALTONE_SD_NOTIFY_H

/* Sends state (newline-separated assignments). 1 when sent, 0 without $NOTIFY_SOCKET,
   DT_EINVAL for a socket name that is not "/…" or "@…" or too long, DT_EIO when the send
   fails (the caller logs it; the service goes on). */
int dt_sd_notify(const char *state);

#endif
