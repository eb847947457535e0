/* gw_sse_format.c - the two SSE event shapes (REST "changed", JMAP
 * StateChange) and the JMAP types= filter. Pure. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "gateway/gw_sse.h"
#include "realtime/rt_hub.h"
#include "realtime/rt_sse.h"

static const struct {
    const char *name;
    unsigned int bit;
} type_names[] = {
    { "Email", GW_SSE_T_EMAIL },
    { "Mailbox", GW_SSE_T_MAILBOX },
    { "Thread", GW_SSE_T_THREAD },
    { "EmailDelivery", GW_SSE_T_DELIVERY },
};

unsigned int gw_sse_parse_types(const char *text)
{
    unsigned int bits = 0;
    const char *p = text;

    if (text == NULL || strcmp(text, "*") == 0)
        return GW_SSE_T_ALL;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");

        for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
            if (strlen(type_names[i].name) == n && strncmp(p, type_names[i].name, n) == 0)
                bits |= type_names[i].bit;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return bits;
}

/* Which JMAP types a change of this kind touches. */
static unsigned int types_of(enum rt_reason r)
{
    switch (r) {
    case RT_REASON_NEW: return GW_SSE_T_ALL;
    case RT_REASON_FLAGS: return GW_SSE_T_EMAIL | GW_SSE_T_MAILBOX;
    default: return GW_SSE_T_EMAIL | GW_SSE_T_MAILBOX | GW_SSE_T_THREAD;
    }
}

/* The StateChange for the types in bits. real is the account's JMAP states
   after the change ({"Email","Mailbox","Thread"}: the same strings
   Foo/changes calls accept); without it (a resync, or states that could not be
   computed) each type gets an opaque per-account change counter, which no
   /changes call accepts, so the client resynchronises. */
static int append_state_change(struct cm_buf *b, const char *type, unsigned int bits,
                               const char *account_id, uint64_t id, const char *real)
{
    json_t *states = json_object(), *doc, *known = real ? json_loads(real, 0, NULL) : NULL;
    char state[32];
    char *text;
    int rc;

    snprintf(state, sizeof(state), "e%llu", (unsigned long long)id);
    for (size_t i = 0; states != NULL && i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        const char *s = json_string_value(json_object_get(known, type_names[i].name));

        if (bits & type_names[i].bit)
            json_object_set_new(states, type_names[i].name, json_string(s ? s : state));
    }
    json_decref(known);
    doc = json_pack("{s:s,s:{s:o}}", "@type", "StateChange", "changed", account_id, states);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return CM_ENOMEM;
    rc = rt_sse_event(b, type, id, text);
    free(text);
    return rc;
}

int gw_sse_format(struct cm_buf *b, enum gw_sse_kind kind, unsigned int types,
                  const struct rt_event *ev)
{
    json_t *doc;
    char *text;
    int rc;

    if (kind == GW_SSE_JMAP) {
        unsigned int bits = types_of(ev->reason) & types;

        return bits == 0 ? 1
                         : append_state_change(b, "state", bits, ev->account_id, ev->id,
                                               ev->states);
    }
    doc = json_pack("{s:s,s:I,s:I,s:s}", "mailbox", ev->mailbox, "uidvalidity",
                    (json_int_t)ev->snap->uidvalidity, "exists", (json_int_t)ev->snap->exists,
                    "reason", rt_reason_name(ev->reason));
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return CM_ENOMEM;
    rc = rt_sse_event(b, "changed", ev->id, text);
    free(text);
    return rc;
}

int gw_sse_format_resync(struct cm_buf *b, enum gw_sse_kind kind, unsigned int types,
                         const char *account_id, uint64_t last_id)
{
    if (kind == GW_SSE_JMAP)
        return types == 0 ? 1 : append_state_change(b, "state", types, account_id, last_id, NULL);
    return rt_sse_event(b, "resync", last_id, "{\"reason\":\"lastEventIdNotCovered\"}");
}
