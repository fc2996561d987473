/*
 * emu_tls.h — the emulator's local certificate authority for `dialtone emulator --tls`:
 * a CA (created once per directory, reused after, so a machine trusts it once) and a
 * server certificate it signs for localhost, 127.0.0.1, ::1 and the names the user adds.
 */
#ifndef DIALTONE_EMU_TLS_H
#define DIALTONE_EMU_TLS_H
#include <stddef.h>

#define EMU_TLS_MAX_HOSTS 16

/* In dir (made 0700 if missing): ca.pem + ca-key.pem (kept if both exist), then a new
   server.pem (the server certificate followed by the CA's) + server-key.pem. hosts: DNS
   names or IPv4 literals added to the certificate's subjectAltName (at most
   EMU_TLS_MAX_HOSTS, each at most 200 characters). bits: RSA size (0 = 2048). 0, or a
   negative DT_E* with the reason in err. */
int dt__emu_tls_create(const char *dir, const char *const *hosts, size_t nhosts, unsigned bits, char *err,
                       size_t errlen);

#endif
