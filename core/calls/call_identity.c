/*
 * call_identity.c — identities in Graph's JSON: the short text of an identity set
 * ("+1555…", "user:ID"), the ids it names (for routing), an invitation's text, and the
 * participants list a flow sees. Pure: no call, no registry.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

static const char *const ID_KINDS[] = {"phone", "user", "applicationInstance", "application",
                                       "guest", "device", "acsUser", "spoolUser", "encrypted",
                                       "onPremises"};

/* "user:ID", "+1555…" for phones, NULL if the set names nobody. Caller frees. */
char *dt__call_identity_text(const cJSON *set) {
  if (!cJSON_IsObject(set)) return NULL;
  for (size_t i = 0; i < DT_ARRAY_SIZE(ID_KINDS); i++) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
    if (!cJSON_IsObject(o)) continue;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "displayName");
    const char *v = cJSON_IsString(id) ? id->valuestring : cJSON_IsString(name) ? name->valuestring : "";
    if (i == 0) return dt_xstrdup(v);
    return dt_xasprintf("%s:%s", ID_KINDS[i], v);
  }
  return NULL;
}

char *dt__call_invitation_text(const dt_identity_t *id) {
  if (!id || !id->kind) return NULL;
  if (strcmp(id->kind, "phone") == 0) return dt_xstrdup(id->id ? id->id : "");
  return dt_xasprintf("%s:%s", id->kind, id->id ? id->id : (id->display_name ? id->display_name : ""));
}

cJSON *dt__call_participants_json(const cJSON *body) {
  cJSON *out = cJSON_CreateArray();
  /* a GET's {"value": [...]}, or a roster notification's array itself */
  const cJSON *value = cJSON_IsArray(body) ? body : cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "value") : NULL;
  const cJSON *p;
  cJSON_ArrayForEach(p, value) {
    if (!cJSON_IsObject(p)) continue;
    cJSON *o = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    if (cJSON_IsString(id)) cJSON_AddStringToObject(o, "id", id->valuestring);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "info");
    const cJSON *set = cJSON_IsObject(info) ? cJSON_GetObjectItemCaseSensitive(info, "identity") : NULL;
    for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS); i++) {
      const cJSON *ident = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
      if (!cJSON_IsObject(ident)) continue;
      const cJSON *iid = cJSON_GetObjectItemCaseSensitive(ident, "id");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(ident, "displayName");
      cJSON_AddStringToObject(o, ID_KINDS[i], cJSON_IsString(iid) ? iid->valuestring : "");
      if (cJSON_IsString(name)) cJSON_AddStringToObject(o, "name", name->valuestring);
      break;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "isMuted");
    cJSON_AddBoolToObject(o, "muted", cJSON_IsTrue(m));
    m = cJSON_GetObjectItemCaseSensitive(p, "isInLobby");
    cJSON_AddBoolToObject(o, "in_lobby", cJSON_IsTrue(m));
    cJSON_AddItemToArray(out, o);
  }
  return out;
}

size_t dt__call_identity_ids(const cJSON *set, const char **ids, size_t n, size_t max) {
  for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS) && n < max; i++) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
    const cJSON *id = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "id") : NULL;
    if (cJSON_IsString(id)) ids[n++] = id->valuestring;
  }
  return n;
}
