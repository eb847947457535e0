/* gw_sse_format.c - the two SSE event shapes (REST "changed", JMAP
 * StateChange), and the query parameters of both SSE surfaces (the JMAP
 * types=/closeafter=/ping= and the REST mailbox= list). Pure. */
#include <errno.h>
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

int gw_sse_parse_query(const char *types, const char *closeafter, const char *ping,
                       unsigned int max_ping, struct gw_sse_query *q)
{
    char *end;
    long n = 0;

    q->types = gw_sse_parse_types(types);
    if (closeafter != NULL && strcmp(closeafter, "state") != 0 && strcmp(closeafter, "no") != 0)
        return CM_EINVAL;
    q->close_after_event = closeafter != NULL && strcmp(closeafter, "state") == 0;
    if (ping != NULL && ping[0] != '\0') {
        if (ping[0] < '0' || ping[0] > '9') /* strtol would take blanks and signs */
            return CM_EINVAL;
        errno = 0;
        n = strtol(ping, &end, 10);
        if (errno != 0 || *end != '\0')
            return CM_EINVAL;
    }
    q->ping_secs = n > (long)max_ping ? max_ping : (unsigned int)n;
    return 0;
}

void gw_sse_names_free(char **names, size_t n)
{
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
}

static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    }
    return false;
}

static bool listed(char *const *names, size_t count, const char *s, size_t n)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return true;
    }
    return false;
}

int gw_sse_parse_mailboxes(const char *arg, unsigned int max, char ***names_r, size_t *n_r,
                           struct cm_err *err)
{
    const char *p = arg != NULL && arg[0] != '\0' ? arg : "INBOX";
    char **names = NULL;
    size_t count = 0;
    int rc = 0;

    *names_r = NULL;
    *n_r = 0;
    while (rc == 0 && *p != '\0') {
        size_t n = strcspn(p, ",");

        if (n == 0 || n > GW_SSE_MAX_NAME || has_ctl(p, n))
            rc = cm_err_set(err, CM_EINVAL, "mailbox: empty, too long or bad name");
        else if (listed(names, count, p, n))
            ;
        else if (count >= max || count >= GW_SSE_MAX_FOLDERS)
            rc = cm_err_set(err, CM_EINVAL, "mailbox: at most %u folders per stream", max);
        else {
            char **grown = count % 8 == 0 ? realloc(names, (count + 8) * sizeof(*names)) : names;

            if (grown != NULL)
                names = grown;
            if (grown == NULL || (names[count] = strndup(p, n)) == NULL)
                rc = cm_err_set(err, CM_ENOMEM, "out of memory");
            else
                count++;
        }
        p += n + (p[n] == ',');
    }
    if (rc < 0) {
        gw_sse_names_free(names, count);
        return rc;
    }
    *names_r = names;
    *n_r = count;
    return 0;
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
