/* ib_header.c - header fields and their RFC 8621 parsed forms. */
#include "imapbridge/ib_header.h"

#include "imapbridge/ib_text.h"

#include <libetpan/libetpan.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 10000

/* ---- splitting the block ------------------------------------------------ */

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* End of the line starting at i (index of its '\n', or len). */
static size_t line_end(const char *s, size_t len, size_t i)
{
    const char *nl = memchr(s + i, '\n', len - i);

    return nl != NULL ? (size_t)(nl - s) : len;
}

/* Field name at s[0..n): printable ASCII except ':' (trailing blanks of
   the obsolete "Name :" form are dropped by the caller). */
static bool name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 255)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 0x7F || s[i] == ':')
            return false;
    return true;
}

static int add_field(struct ib_header_list *l, const char *name, size_t nlen, const char *val,
                     size_t vlen)
{
    struct ib_header_field *f, *nf;

    if (l->count >= MAX_FIELDS)
        return CM_ELIMIT;
    nf = realloc(l->fields, (l->count + 1) * sizeof(*nf));
    if (nf == NULL)
        return CM_ENOMEM;
    l->fields = nf;
    f = &nf[l->count];
    f->name = strndup(name, nlen);
    f->value = malloc(vlen + 1);
    if (f->name == NULL || f->value == NULL) {
        free(f->name);
        free(f->value);
        return CM_ENOMEM;
    }
    memcpy(f->value, val, vlen);
    f->value[vlen] = '\0';
    f->value_len = vlen;
    l->count++;
    return 0;
}

/* Parse one field starting at line i; *next gets the index after it.
   Returns 0, 1 (not a field: skipped) or < 0. */
static int one_field(struct ib_header_list *l, const char *s, size_t len, size_t i, size_t *next)
{
    size_t e = line_end(s, len, i), colon, nlen, vend;
    const char *c = memchr(s + i, ':', e - i);

    *next = e < len ? e + 1 : len;
    if (c == NULL)
        return 1;
    colon = (size_t)(c - s);
    for (nlen = colon - i; nlen > 0 && is_wsp(s[i + nlen - 1]); nlen--)
        ;
    if (!name_ok(s + i, nlen))
        return 1;
    /* continuation lines start with a blank */
    while (*next < len && is_wsp(s[*next])) {
        e = line_end(s, len, *next);
        *next = e < len ? e + 1 : len;
    }
    vend = e;
    if (vend > colon + 1 && vend <= len && vend > 0 && s[vend - 1] == '\r')
        vend--;
    return add_field(l, s + i, nlen, s + colon + 1, vend - colon - 1);
}

int ib_header_parse(const char *raw, size_t len, struct ib_header_list **out, struct cm_err *err)
{
    struct ib_header_list *l = calloc(1, sizeof(*l));
    size_t i = 0, next;
    int rc = 0;

    *out = NULL;
    if (l == NULL)
        return cm_err_set(err, CM_ENOMEM, "header list");
    while (i < len && rc >= 0) {
        if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n'))
            break;            /* empty line: end of the header */
        if (is_wsp(raw[i])) { /* stray continuation: skip */
            size_t e = line_end(raw, len, i);

            i = e < len ? e + 1 : len;
            continue;
        }
        rc = one_field(l, raw, len, i, &next);
        i = next;
    }
    if (rc < 0) {
        ib_header_list_free(&l);
        return cm_err_set(err, (enum cm_code)rc, "header block: %s", cm_code_name(rc));
    }
    *out = l;
    return 0;
}

void ib_header_list_free(struct ib_header_list **l)
{
    size_t i;

    if (l == NULL || *l == NULL)
        return;
    for (i = 0; i < (*l)->count; i++) {
        free((*l)->fields[i].name);
        free((*l)->fields[i].value);
    }
    free((*l)->fields);
    free(*l);
    *l = NULL;
}

/* ---- which forms are allowed where (RFC 8621 4.1.2) -------------------- */

#define F(x) (1u << (x))
#define ADDR (F(IB_HF_RAW) | F(IB_HF_ADDRESSES) | F(IB_HF_GROUPED_ADDRESSES))

struct known_field {
    const char *name;
    unsigned forms;
};

/* Fields defined by RFC 5322 and RFC 2369; any other field allows all. */
static const struct known_field known_fields[] = {
    {"from", ADDR},
    {"sender", ADDR},
    {"reply-to", ADDR},
    {"to", ADDR},
    {"cc", ADDR},
    {"bcc", ADDR},
    {"resent-from", ADDR},
    {"resent-sender", ADDR},
    {"resent-reply-to", ADDR},
    {"resent-to", ADDR},
    {"resent-cc", ADDR},
    {"resent-bcc", ADDR},
    {"message-id", F(IB_HF_RAW) | F(IB_HF_MESSAGE_IDS)},
    {"in-reply-to", F(IB_HF_RAW) | F(IB_HF_MESSAGE_IDS)},
    {"references", F(IB_HF_RAW) | F(IB_HF_MESSAGE_IDS)},
    {"resent-message-id", F(IB_HF_RAW) | F(IB_HF_MESSAGE_IDS)},
    {"date", F(IB_HF_RAW) | F(IB_HF_DATE)},
    {"resent-date", F(IB_HF_RAW) | F(IB_HF_DATE)},
    {"subject", F(IB_HF_RAW) | F(IB_HF_TEXT)},
    {"comments", F(IB_HF_RAW) | F(IB_HF_TEXT)},
    {"keywords", F(IB_HF_RAW) | F(IB_HF_TEXT)},
    {"list-help", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"list-unsubscribe", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"list-subscribe", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"list-post", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"list-owner", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"list-archive", F(IB_HF_RAW) | F(IB_HF_URLS)},
    {"return-path", F(IB_HF_RAW)},
    {"received", F(IB_HF_RAW)},
    {NULL, 0}};

bool ib_header_form_allowed(const char *name, enum ib_header_form form)
{
    const struct known_field *k;

    for (k = known_fields; k->name != NULL; k++)
        if (strcasecmp(k->name, name) == 0)
            return (k->forms & F(form)) != 0;
    return true;
}

static const struct {
    const char *suffix;
    enum ib_header_form form;
} form_names[] = {{"asRaw", IB_HF_RAW},
                  {"asText", IB_HF_TEXT},
                  {"asAddresses", IB_HF_ADDRESSES},
                  {"asGroupedAddresses", IB_HF_GROUPED_ADDRESSES},
                  {"asMessageIds", IB_HF_MESSAGE_IDS},
                  {"asDate", IB_HF_DATE},
                  {"asURLs", IB_HF_URLS},
                  {NULL, IB_HF_RAW}};

static int parse_form(const char *s, size_t n, enum ib_header_form *form)
{
    size_t k;

    for (k = 0; form_names[k].suffix != NULL; k++)
        if (strlen(form_names[k].suffix) == n && strncmp(s, form_names[k].suffix, n) == 0) {
            *form = form_names[k].form;
            return 0;
        }
    return CM_EINVAL;
}

int ib_header_prop_parse(const char *prop, struct ib_header_prop *out, struct cm_err *err)
{
    const char *name, *c1, *c2 = NULL;
    size_t nlen;

    memset(out, 0, sizeof(*out));
    if (strncmp(prop, "header:", 7) != 0)
        return cm_err_set(err, CM_EINVAL, "not a header property");
    name = prop + 7;
    c1 = strchr(name, ':');
    nlen = c1 != NULL ? (size_t)(c1 - name) : strlen(name);
    if (!name_ok(name, nlen) || nlen >= sizeof(out->name))
        return cm_err_set(err, CM_EINVAL, "bad header field name");
    memcpy(out->name, name, nlen);
    if (c1 != NULL) {
        c2 = strchr(c1 + 1, ':');
        if (strcmp(c1 + 1, "all") == 0) {
            out->all = true;
        } else if (parse_form(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), &out->form) <
                   0) {
            return cm_err_set(err, CM_EINVAL, "unknown header form");
        } else if (c2 != NULL && strcmp(c2 + 1, "all") != 0) {
            return cm_err_set(err, CM_EINVAL, "bad header property suffix");
        } else {
            out->all = c2 != NULL;
        }
    }
    if (!ib_header_form_allowed(out->name, out->form))
        return cm_err_set(err, CM_EINVAL, "form not allowed for header %s", out->name);
    return 0;
}

/* ---- small JSON helpers ------------------------------------------------- */

/* Raw header bytes of no declared charset -> JSON (UTF-8 or Windows-1252). */
static json_t *guess_json(const char *s, size_t len)
{
    char *u = NULL;
    size_t ulen = 0;
    bool problem = false;
    json_t *j;

    if (ib_text_charset_decode(NULL, s, len, &u, &ulen, &problem, NULL) < 0)
        return NULL;
    j = json_stringn(u, ulen);
    free(u);
    return j;
}

/* Decoded text (RFC 2047) -> JSON string. A name (is_name) also loses
   trailing blanks and becomes JSON null when empty (RFC 8621 4.1.2.3). */
static json_t *text_json(const char *s, size_t len, bool is_name)
{
    char *t = NULL;
    size_t n;
    json_t *j;

    if (ib_text_header_decode(s, len, &t, NULL) < 0)
        return NULL;
    n = strlen(t);
    while (is_name && n > 0 && is_wsp(t[n - 1]))
        n--;
    j = is_name && n == 0 ? json_null() : json_stringn(t, n);
    free(t);
    return j;
}

/* Skip CFWS (blanks, line breaks, nested comments) from *i. */
static void skip_cfws(const char *s, size_t len, size_t *i)
{
    int depth = 0;

    while (*i < len) {
        char c = s[*i];

        if (depth > 0 && c == '\\' && *i + 1 < len)
            (*i)++;
        else if (c == '(')
            depth++;
        else if (c == ')' && depth > 0)
            depth--;
        else if (depth == 0 && !is_wsp(c) && c != '\r' && c != '\n')
            return;
        (*i)++;
    }
}

/* ---- addresses ---------------------------------------------------------- */

/* A phrase (display name) with its quoting removed, then RFC 2047 decoded.
   Returns JSON null for an empty name. */
static json_t *phrase_json(const char *s, size_t len)
{
    char *tmp = malloc(len + 1);
    size_t i, o = 0;
    json_t *j;

    if (tmp == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            tmp[o++] = s[++i];
        else if (s[i] != '"')
            tmp[o++] = s[i];
    }
    j = text_json(tmp, o, true);
    free(tmp);
    return j;
}

static json_t *address_new(json_t *name, json_t *email)
{
    json_t *a = json_object();

    if (a == NULL || name == NULL || email == NULL || json_object_set_new(a, "name", name) < 0 ||
        json_object_set_new(a, "email", email) < 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The first top-level "(comment)" in s, as a name; JSON null if none. */
static json_t *comment_name(const char *s, size_t len)
{
    const char *open = memchr(s, '(', len);
    size_t i, start;
    int depth = 0;

    if (open == NULL)
        return json_null();
    start = (size_t)(open - s);
    for (i = start; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len)
            i++;
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return phrase_json(s + start + 1, i - start - 1);
    }
    return json_null();
}

/* libetpan's mailbox parser on the whole segment; NULL when it fails, does
   not consume everything, or yields no '@'. */
static json_t *mailbox_strict(const char *s, size_t len)
{
    struct mailimf_mailbox *mb = NULL;
    size_t idx = 0;
    json_t *a = NULL, *name;

    if (mailimf_mailbox_parse(s, len, &idx, &mb) != MAILIMF_NO_ERROR)
        return NULL;
    skip_cfws(s, len, &idx);
    if (idx == len && mb->mb_addr_spec != NULL && strchr(mb->mb_addr_spec, '@') != NULL &&
        mb->mb_addr_spec[0] != '\0') {
        if (mb->mb_display_name != NULL)
            name = text_json(mb->mb_display_name, strlen(mb->mb_display_name), true);
        else
            name = comment_name(s, len);
        a = address_new(name, guess_json(mb->mb_addr_spec, strlen(mb->mb_addr_spec)));
    }
    mailimf_mailbox_free(mb);
    return a;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (is_wsp(**s) || **s == '\r' || **s == '\n')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && (is_wsp((*s)[*len - 1]) || (*s)[*len - 1] == '\r' || (*s)[*len - 1] == '\n'))
        (*len)--;
}

/* Could s[0..len) stand as an email on its own (best effort: RFC 8621
   allows emails without '@')? One token, no specials. */
static bool loose_email_ok(const char *s, size_t len)
{
    size_t k;

    if (len == 0)
        return false;
    for (k = 0; k < len; k++)
        if (strchr(" \t\r\n<>\"(),;:\\[]", s[k]) != NULL || s[k] == '\0')
            return false;
    return true;
}

/* Best effort for what the grammar rejects: "name <email>" or a bare
   token. NULL when nothing looks like an address. */
static json_t *mailbox_loose(const char *s, size_t len)
{
    const char *lt = memchr(s, '<', len), *gt;
    const char *e = s, *n = s;
    size_t elen = len, nlen = 0;
    json_t *name;

    if (lt != NULL && (gt = memchr(lt, '>', len - (size_t)(lt - s))) != NULL) {
        e = lt + 1;
        elen = (size_t)(gt - e);
        n = s;
        nlen = (size_t)(lt - s);
    } else if (memchr(s, '(', len) != NULL) {
        elen = (size_t)((const char *)memchr(s, '(', len) - s); /* "x@y (Name)" */
    }
    trim(&e, &elen);
    trim(&n, &nlen);
    if (!loose_email_ok(e, elen))
        return NULL;
    name = nlen ? phrase_json(n, nlen) : comment_name(s, len);
    return address_new(name, guess_json(e, elen));
}

struct addr_scan {
    json_t *groups; /* EmailAddressGroup[] being built */
    json_t *cur;    /* addresses of the open group, or of the open ungrouped run */
    bool in_group;
};

/* Append one mailbox segment (may be empty or garbage). */
static int add_mailbox(struct addr_scan *st, const char *s, size_t len)
{
    json_t *a, *g;

    trim(&s, &len);
    if (len == 0)
        return 0;
    a = mailbox_strict(s, len);
    if (a == NULL)
        a = mailbox_loose(s, len);
    if (a == NULL)
        return 0;          /* not an address: dropped */
    if (st->cur == NULL) { /* start an ungrouped run */
        st->cur = json_array();
        g = json_pack("{s:n,s:o}", "name", "addresses", st->cur);
        if (g == NULL || json_array_append_new(st->groups, g) < 0) {
            json_decref(a);
            return CM_ENOMEM;
        }
    }
    return json_array_append_new(st->cur, a) < 0 ? CM_ENOMEM : 0;
}

static int open_group(struct addr_scan *st, const char *s, size_t len)
{
    json_t *name, *g;

    trim(&s, &len);
    name = len ? phrase_json(s, len) : json_null();
    st->cur = json_array();
    g = json_pack("{s:o,s:o}", "name", name, "addresses", st->cur);
    if (g == NULL || json_array_append_new(st->groups, g) < 0)
        return CM_ENOMEM;
    st->in_group = true;
    return 0;
}

/* Index after the quoted string / comment / angle address opening at i. */
static size_t skip_nested(const char *s, size_t len, size_t i)
{
    char open = s[i], close = open == '"' ? '"' : open == '(' ? ')' : '>';
    int depth = 1;

    for (i++; i < len && depth > 0; i++) {
        if (s[i] == '\\' && open != '<' && i + 1 < len)
            i++;
        else if (s[i] == close)
            depth--;
        else if (s[i] == open && open == '(')
            depth++;
    }
    return i;
}

/* Split an address-list at top-level ',' ':' ';' (RFC 5322 3.4) and parse
   each mailbox on its own, so garbage in one does not lose the others. */
static json_t *grouped_json(const char *s, size_t len)
{
    struct addr_scan st = {json_array(), NULL, false};
    size_t i = 0, seg = 0;
    int rc = 0;

    while (i < len && rc == 0 && st.groups != NULL) {
        char c = s[i];

        if (c == '"' || c == '(' || c == '<') {
            i = skip_nested(s, len, i);
            continue;
        }
        if (c == ',' || (c == ';' && st.in_group)) {
            rc = add_mailbox(&st, s + seg, i - seg);
            if (c == ';') {
                st.in_group = false;
                st.cur = NULL;
            }
            seg = i + 1;
        } else if (c == ':' && !st.in_group) {
            rc = open_group(&st, s + seg, i - seg);
            seg = i + 1;
        }
        i++;
    }
    if (rc == 0 && st.groups != NULL)
        rc = add_mailbox(&st, s + seg, len - seg);
    if (rc < 0) {
        json_decref(st.groups);
        return NULL;
    }
    return st.groups;
}

static json_t *flatten(json_t *groups)
{
    json_t *all = groups != NULL ? json_array() : NULL, *g;
    size_t i;

    for (i = 0; all != NULL && i < json_array_size(groups); i++) {
        g = json_array_get(groups, i);
        if (json_array_extend(all, json_object_get(g, "addresses")) < 0) {
            json_decref(all);
            all = NULL;
        }
    }
    json_decref(groups);
    return all;
}

/* ---- message ids, URLs -------------------------------------------------- */

/* The msg-id starting at s[i] == '<' up to its '>' (a '>' inside a quoted
   local part does not count). Unfolding removes only line breaks (RFC 5322
   2.2.3), so blanks inside quotes stay; blanks outside quotes are CFWS of
   the obsolete syntax and go. *end gets the index after '>'. NULL when
   unterminated or out of memory; JSON null for an empty "<>". */
static json_t *one_msg_id(const char *s, size_t len, size_t i, size_t *end)
{
    char *id = malloc(len - i);
    size_t o = 0;
    bool quoted = false;
    json_t *j = NULL;

    for (i++; id != NULL && i < len && (quoted || s[i] != '>'); i++) {
        char c = s[i];

        if (c == '\r' || c == '\n' || (!quoted && is_wsp(c)))
            continue;
        if (c == '"')
            quoted = !quoted;
        else if (quoted && c == '\\' && i + 1 < len)
            id[o++] = s[i++];
        id[o++] = s[i];
    }
    if (id != NULL && i < len) {
        *end = i + 1;
        j = o > 0 ? guess_json(id, o) : json_null();
    }
    free(id);
    return j;
}

/* A word of an obsolete phrase between ids (RFC 5322 4.5.4): a quoted
   string, a comment or a run of other characters. */
static size_t skip_word(const char *s, size_t len, size_t i)
{
    if (s[i] == '"' || s[i] == '(')
        return skip_nested(s, len, i);
    while (i < len && s[i] != '<' && s[i] != '"' && s[i] != '(' && !is_wsp(s[i]) &&
           s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

/* Message ids in angle brackets, obsolete phrases between them skipped;
   JSON null when there is none or one is unterminated. */
static json_t *message_ids_json(const char *s, size_t len)
{
    json_t *arr = json_array(), *id;
    size_t i = 0;

    while (arr != NULL) {
        skip_cfws(s, len, &i);
        if (i >= len)
            break;
        if (s[i] != '<') {
            i = skip_word(s, len, i);
            continue;
        }
        id = one_msg_id(s, len, i, &i);
        if (id == NULL) {
            json_decref(arr);
            return json_null();
        }
        if (json_is_null(id) || json_array_append_new(arr, id) < 0)
            json_decref(id);
    }
    if (arr != NULL && json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

/* The URL in s[i] == '<' .. the next '>', blanks and folds removed;
 *end gets the index of '>'. NULL when unterminated or out of memory. */
static json_t *one_url(const char *s, size_t len, size_t i, size_t *end)
{
    const char *gt = memchr(s + i, '>', len - i);
    char *u;
    size_t k, o = 0;
    json_t *j;

    if (gt == NULL)
        return NULL;
    *end = (size_t)(gt - s);
    u = malloc(*end - i);
    if (u == NULL)
        return NULL;
    for (k = i + 1; k < *end; k++)
        if (!is_wsp(s[k]) && s[k] != '\r' && s[k] != '\n')
            u[o++] = s[k];
    j = guess_json(u, o);
    free(u);
    return j;
}

/* RFC 2369: "<url>" items separated by commas, with CFWS; anything else
   makes the field unparsable (null). */
static json_t *urls_json(const char *s, size_t len)
{
    json_t *arr = json_array(), *u;
    size_t i = 0, end = 0;

    while (arr != NULL) {
        skip_cfws(s, len, &i);
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i == len)
            break;
        u = s[i] == '<' ? one_url(s, len, i, &end) : NULL;
        if (u == NULL || json_array_append_new(arr, u) < 0) {
            json_decref(arr);
            return json_null();
        }
        i = end + 1;
    }
    if (arr != NULL && json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

/* ---- dates -------------------------------------------------------------- */

struct date {
    int year, month, day, hour, min, sec, zone; /* zone in minutes east of UTC */
};

static bool read_num(const char *s, size_t len, size_t *i, int maxd, int *v, int *ndig)
{
    *v = 0;
    *ndig = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *ndig < maxd) {
        *v = *v * 10 + (s[*i] - '0');
        (*i)++;
        (*ndig)++;
    }
    return *ndig > 0;
}

static size_t read_word(const char *s, size_t len, size_t i)
{
    size_t n = 0;

    while (i + n < len && ((s[i + n] | 0x20) >= 'a' && (s[i + n] | 0x20) <= 'z'))
        n++;
    return n;
}

static int name_index(const char *s, size_t n, const char *const *names)
{
    int k;

    for (k = 0; names[k] != NULL; k++)
        if (strlen(names[k]) == n && strncasecmp(s, names[k], n) == 0)
            return k;
    return -1;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

/* RFC 5322 3.3 zone, or the obsolete names of 4.3 (military letters mean
   "unknown", i.e. -0000), plus "UTC", which is not in the grammar but is
   common in real mail. false for anything else. */
static bool read_zone(const char *s, size_t len, size_t *i, int *zone)
{
    static const char *const names[] = {"ut",  "gmt", "est", "edt", "cst", "cdt",
                                        "mst", "mdt", "pst", "pdt", "utc", NULL};
    static const int offs[] = {0, 0, -5, -4, -6, -5, -7, -6, -8, -7, 0};
    size_t n;
    int v, nd, k;

    if (*i < len && (s[*i] == '+' || s[*i] == '-')) {
        int sign = s[*i] == '-' ? -1 : 1;

        (*i)++;
        if (!read_num(s, len, i, 4, &v, &nd) || nd != 4 || v % 100 > 59)
            return false;
        *zone = sign * ((v / 100) * 60 + v % 100);
        return true;
    }
    n = read_word(s, len, *i);
    k = name_index(s + *i, n, names);
    if (k < 0 && n != 1)
        return false;
    *zone = k >= 0 ? offs[k] * 60 : 0;
    *i += n;
    return true;
}

static bool date_valid(const struct date *d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (d->year % 4 == 0 && d->year % 100 != 0) || d->year % 400 == 0;
    int dim = mdays[d->month - 1] + (d->month == 2 && leap);

    return d->year >= 1900 && d->year <= 9999 && d->day >= 1 && d->day <= dim && d->hour <= 23 &&
           d->min <= 59 && d->sec <= 60;
}

/* [day ","] day month year hour ":" min [":" sec] zone, CFWS between. */
static bool parse_date(const char *s, size_t len, struct date *d)
{
    size_t i = 0, n;
    int nd;

    memset(d, 0, sizeof(*d));
    skip_cfws(s, len, &i);
    n = read_word(s, len, i);
    if (n > 0) { /* day-of-week */
        if (name_index(s + i, n, day_names) < 0)
            return false;
        i += n;
        skip_cfws(s, len, &i);
        if (i >= len || s[i] != ',')
            return false;
        i++;
        skip_cfws(s, len, &i);
    }
    if (!read_num(s, len, &i, 2, &d->day, &nd))
        return false;
    skip_cfws(s, len, &i);
    n = read_word(s, len, i);
    d->month = name_index(s + i, n, months) + 1;
    i += n;
    skip_cfws(s, len, &i);
    if (d->month == 0 || !read_num(s, len, &i, 4, &d->year, &nd) || nd < 2)
        return false;
    if (nd == 2) /* obsolete years, RFC 5322 4.3 */
        d->year += d->year < 50 ? 2000 : 1900;
    else if (nd == 3)
        d->year += 1900;
    skip_cfws(s, len, &i);
    if (!read_num(s, len, &i, 2, &d->hour, &nd) || i >= len || s[i++] != ':' ||
        !read_num(s, len, &i, 2, &d->min, &nd) || nd != 2)
        return false;
    if (i < len && s[i] == ':') {
        i++;
        if (!read_num(s, len, &i, 2, &d->sec, &nd) || nd != 2)
            return false;
    }
    skip_cfws(s, len, &i);
    if (!read_zone(s, len, &i, &d->zone))
        return false;
    skip_cfws(s, len, &i);
    return i == len && date_valid(d);
}

static json_t *date_json(const char *s, size_t len)
{
    struct date d;
    char buf[96];
    int z;

    if (!parse_date(s, len, &d))
        return json_null();
    z = d.zone < 0 ? -d.zone : d.zone;
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", d.year, d.month, d.day,
             d.hour, d.min, d.sec, d.zone < 0 ? '-' : '+', z / 60, z % 60);
    return json_string(buf);
}

/* Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's formula). */
static long days_from_civil(long y, long m, long d)
{
    long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

json_t *ib_header_utcdate_json(const struct mailimap_date_time *dt)
{
    struct date d = {dt->dt_year, dt->dt_month, dt->dt_day, dt->dt_hour, dt->dt_min, dt->dt_sec, 0};
    long long t, days;
    int zone = dt->dt_zone; /* +hhmm as an integer, e.g. -0530 -> -530 */
    char buf[96];

    if (d.month < 1 || d.month > 12 || !date_valid(&d))
        return json_null();
    t = (long long)days_from_civil(d.year, d.month, d.day) * 86400 + d.hour * 3600 + d.min * 60 +
        d.sec;
    t -= (long long)(zone / 100 * 60 + zone % 100) * 60;
    days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    t -= days * 86400;
    {
        /* civil_from_days */
        long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        long long doe = z - era * 146097;
        long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        long long dd = doy - (153 * mp + 2) / 5 + 1, mm = mp < 10 ? mp + 3 : mp - 9;
        long long yy = yoe + era * 400 + (mm <= 2);

        snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", yy, mm, dd,
                 t / 3600, t % 3600 / 60, t % 60);
    }
    return json_string(buf);
}

/* ---- dispatch ----------------------------------------------------------- */

json_t *ib_header_value_json(const char *value, size_t len, enum ib_header_form form)
{
    switch (form) {
    case IB_HF_RAW: return ib_text_json(value, len);
    case IB_HF_TEXT: return text_json(value, len, false);
    case IB_HF_ADDRESSES: return flatten(grouped_json(value, len));
    case IB_HF_GROUPED_ADDRESSES: return grouped_json(value, len);
    case IB_HF_MESSAGE_IDS: return message_ids_json(value, len);
    case IB_HF_DATE: return date_json(value, len);
    case IB_HF_URLS: return urls_json(value, len);
    }
    return json_null();
}

json_t *ib_header_get_json(const struct ib_header_list *l, const char *name,
                           enum ib_header_form form, bool all)
{
    json_t *arr = all ? json_array() : NULL;
    size_t i;

    for (i = l->count; i-- > 0;) {
        const struct ib_header_field *f = &l->fields[i];

        if (strcasecmp(f->name, name) != 0)
            continue;
        if (!all)
            return ib_header_value_json(f->value, f->value_len, form);
        if (arr == NULL ||
            json_array_insert_new(arr, 0, ib_header_value_json(f->value, f->value_len, form)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return all ? arr : json_null();
}

static json_t *headers_json(const struct ib_header_list *l)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < l->count; i++) {
        const struct ib_header_field *f = &l->fields[i];
        json_t *h = json_pack("{s:o,s:o}", "name", ib_text_json(f->name, strlen(f->name)), "value",
                              ib_text_json(f->value, f->value_len));

        if (h == NULL || json_array_append_new(arr, h) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static const struct {
    const char *prop, *field;
    enum ib_header_form form;
} convenience[] = {{"messageId", "Message-ID", IB_HF_MESSAGE_IDS},
                   {"inReplyTo", "In-Reply-To", IB_HF_MESSAGE_IDS},
                   {"references", "References", IB_HF_MESSAGE_IDS},
                   {"sender", "Sender", IB_HF_ADDRESSES},
                   {"from", "From", IB_HF_ADDRESSES},
                   {"to", "To", IB_HF_ADDRESSES},
                   {"cc", "Cc", IB_HF_ADDRESSES},
                   {"bcc", "Bcc", IB_HF_ADDRESSES},
                   {"replyTo", "Reply-To", IB_HF_ADDRESSES},
                   {"subject", "Subject", IB_HF_TEXT},
                   {"sentAt", "Date", IB_HF_DATE},
                   {NULL, NULL, IB_HF_RAW}};

json_t *ib_header_email_prop(const struct ib_header_list *l, const char *prop, bool *known)
{
    struct ib_header_prop hp;
    size_t k;

    *known = true;
    if (strcmp(prop, "headers") == 0)
        return headers_json(l);
    for (k = 0; convenience[k].prop != NULL; k++)
        if (strcmp(prop, convenience[k].prop) == 0)
            return ib_header_get_json(l, convenience[k].field, convenience[k].form, false);
    if (ib_header_prop_parse(prop, &hp, NULL) == 0)
        return ib_header_get_json(l, hp.name, hp.form, hp.all);
    *known = false;
    return NULL;
}
