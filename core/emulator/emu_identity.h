/*
 * emu_identity.h — the emulator as the Microsoft identity platform for app-only Graph:
 * access tokens as RS256 JWTs (aud, iss, tid, appid, roles, exp, ...), their verification
 * on every Graph request, the app's granted application permissions (roles) and the
 * 403 a request gets without the one it needs, and the platform's discovery documents
 * (v2.0 OpenID metadata per tenant, instance discovery, the keys).
 */
#ifndef DIALTONE_EMU_IDENTITY_H
#define DIALTONE_EMU_IDENTITY_H
#include "emu_model.h"

/* Graph application permissions the emulator knows (bit i = dt__emu_role_names[i]). */
enum {
  EMU_ROLE_CALLS_ACCESS_MEDIA = 1u << 0,
  EMU_ROLE_CALLS_INITIATE = 1u << 1,
  EMU_ROLE_CALLS_INITIATE_GROUP = 1u << 2,
  EMU_ROLE_CALLS_JOIN_GROUP = 1u << 3,
  EMU_ROLE_CALLS_JOIN_GROUP_GUEST = 1u << 4,
  EMU_ROLE_ONLINE_MEETINGS_RW = 1u << 5,
  EMU_ROLE_COUNT = 6,
  EMU_ROLES_ALL = (1u << 6) - 1,
};
extern const char *const dt__emu_role_names[EMU_ROLE_COUNT];

/* "Calls.Initiate.All,Calls.AccessMedia.All" (commas or spaces) -> bits. NULL or "" = all;
   "none" = no permission. Unknown names: DT_EINVAL with the name in err. */
int dt__emu_roles_parse(const char *text, unsigned *out, char *err, size_t errlen);

/* An access token for Graph as the identity platform issues it to the emulator's app with
   client credentials: RS256 signed with the emulator's key (its kid in the header). The
   audience is "https://graph.microsoft.com" when resource is NULL. Caller frees. */
char *dt__emu_token_issue_for(dt_emulator_t *emu, const char *resource, int64_t lifetime_s);
char *dt__emu_token_issue(dt_emulator_t *emu, int64_t lifetime_s);

/* Verifies a Graph bearer token: signature against the emulator's keys, exp/nbf, aud
   Graph, iss the emulator's tenant. On success returns 0 and the token's roles in *roles;
   otherwise DT_EAUTH with the reason in why. */
int dt__emu_token_check(dt_emulator_t *emu, const char *token, unsigned *roles, char *why, size_t whylen);
bool dt__emu_token_valid(dt_emulator_t *emu, const char *token);

/* Every Graph request's admission (calls and onlineMeetings): counts it, applies the
   injected faults (hang, status) and checks the bearer token (dt__emu_token_check), keeping its roles for dt__emu_permit; false when it has been
   answered (or is left hanging). */
bool dt__emu_graph_admit(dt_emulator_t *emu, dt_http_request_t *req);

/* After dt__emu_graph_admit: true when the request's token holds one of the roles in
   any_of; otherwise answers Graph's 403 and returns false. */
bool dt__emu_permit(dt_emulator_t *emu, dt_http_request_t *req, unsigned any_of);

/* The identity platform's documents at path (already without a trailing slash): true when
   it answered. */
bool dt__emu_identity_route(dt_emulator_t *emu, dt_http_request_t *req, const char *path);

#endif
