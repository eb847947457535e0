/* gw_mime_build.c - the MIME message builder (see gw_mime_build.h). */
#include "gateway/gw_mime_build.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_b64.h"
#include "common/cm_buf.h"
#include "common/cm_crypto.h"
#include "imapbridge/ib_smtp.h"

#define ENCODED_CHUNK 42 /* input bytes per encoded word (56 base64 chars) */

struct mb {
    struct cm_buf b;
    int rc; /* first failure */
    struct cm_err *err;
};

static void put(struct mb *m, const char *s, size_t n)
{
    if (m->rc == 0)
        m->rc = cm_buf_append(&m->b, s, n);
}

static void puts_(struct mb *m, const char *s)
{
    put(m, s, strlen(s));
}

/* "Name: value" CRLF when value is set (value already safe for a header). */
static void opt_header(struct mb *m, const char *name, const char *value)
{
    if (value == NULL)
        return;
    puts_(m, name);
    puts_(m, ": ");
    puts_(m, value);
    puts_(m, "\r\n");
}

static bool has_ctl_line(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static bool is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return false;
    }
    return true;
}

/* RFC 2047 B encoded words, split between UTF-8 characters. */
static void encoded_words(struct mb *m, const char *s)
{
    size_t n = strlen(s), i = 0;

    while (i < n) {
        size_t take = n - i > ENCODED_CHUNK ? ENCODED_CHUNK : n - i;
        char *b64;

        while (i + take < n && ((unsigned char)s[i + take] & 0xc0) == 0x80)
            take--; /* do not cut a UTF-8 sequence */
        b64 = cm_b64_encode(s + i, take);
        if (b64 == NULL) {
            m->rc = CM_ENOMEM;
            return;
        }
        if (i > 0)
            puts_(m, "\r\n ");
        puts_(m, "=?UTF-8?B?");
        puts_(m, b64);
        puts_(m, "?=");
        free(b64);
        i += take;
    }
}

/* Unstructured text (Subject). */
static void text_value(struct mb *m, const char *s)
{
    if (is_ascii(s) && strlen(s) < 900)
        puts_(m, s);
    else
        encoded_words(m, s);
}

static void display_name(struct mb *m, const char *name)
{
    if (!is_ascii(name)) {
        encoded_words(m, name);
        return;
    }
    puts_(m, "\"");
    for (; *name; name++) {
        if (*name == '"' || *name == '\\')
            put(m, "\\", 1);
        put(m, name, 1);
    }
    puts_(m, "\"");
}

static bool phrase_ok(const char *name)
{
    return !has_ctl_line(name) && (name == NULL || strlen(name) <= 200);
}

static int check_addr(const struct gw_mime_addr *a, const char *field, struct cm_err *err)
{
    if (!(a->email == NULL && a->group != NULL) && !ib_smtp_addr_valid(a->email))
        return cm_err_set(err, CM_EINVAL, "%s: not a valid address: %.80s", field,
                          a->email ? a->email : "(none)");
    if (!phrase_ok(a->name) || !phrase_ok(a->group))
        return cm_err_set(err, CM_EINVAL, "%s: bad display name", field);
    return 0;
}

static bool same_group(const struct gw_mime_addr *a, const struct gw_mime_addr *b)
{
    return a->group != NULL && a->group == b->group;
}

static void mailbox(struct mb *m, const struct gw_mime_addr *a)
{
    if (a->name != NULL && a->name[0] != '\0') {
        display_name(m, a->name);
        puts_(m, " ");
    }
    puts_(m, "<");
    puts_(m, a->email);
    puts_(m, ">");
}

static int addr_field(struct mb *m, const char *field, const struct gw_mime_addr *a, size_t n)
{
    if (n == 0)
        return 0;
    puts_(m, field);
    puts_(m, ": ");
    for (size_t i = 0; i < n; i++) {
        bool opens = a[i].group != NULL && (i == 0 || !same_group(&a[i - 1], &a[i]));
        int rc = check_addr(&a[i], field, m->err);

        if (rc < 0)
            return rc;
        if (i > 0 && a[i - 1].group != NULL && !same_group(&a[i - 1], &a[i]))
            puts_(m, ";");
        if (i > 0)
            puts_(m, ",\r\n ");
        if (opens) {
            display_name(m, a[i].group);
            puts_(m, ":");
            if (a[i].email != NULL)
                puts_(m, " ");
        }
        if (a[i].email != NULL)
            mailbox(m, &a[i]);
    }
    if (a[n - 1].group != NULL)
        puts_(m, ";");
    puts_(m, "\r\n");
    return 0;
}

/* "<a@b>" with no space, control, or angle bracket inside. */
static bool msgid_valid(const char *id)
{
    size_t n = strlen(id);

    if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>' || strchr(id, '@') == NULL)
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)id[i];

        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
            return false;
    }
    return true;
}

static int check_refs(const char *refs, struct cm_err *err)
{
    char copy[4096], *save = NULL;
    size_t n = 0;

    if (strlen(refs) >= sizeof(copy))
        return cm_err_set(err, CM_EINVAL, "references: too long");
    snprintf(copy, sizeof(copy), "%s", refs);
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save), n++) {
        if (!msgid_valid(t))
            return cm_err_set(err, CM_EINVAL, "references: not a list of <id@host>");
    }
    return n == 0 ? cm_err_set(err, CM_EINVAL, "references: empty") : 0;
}

static bool type_valid(const char *t)
{
    const char *slash = strchr(t, '/');

    if (slash == NULL || slash == t || slash[1] == '\0' || strlen(t) > 100)
        return false;
    for (; *t; t++) {
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              strchr("/+-.", *t)))
            return false;
    }
    return true;
}

static void base64_lines(struct mb *m, const unsigned char *data, size_t len)
{
    for (size_t i = 0; i < len; i += 57) {
        char *b64 = cm_b64_encode(data + i, len - i > 57 ? 57 : len - i);

        if (b64 == NULL) {
            m->rc = CM_ENOMEM;
            return;
        }
        puts_(m, b64);
        puts_(m, "\r\n");
        free(b64);
    }
}

static bool needs_base64(const char *s)
{
    size_t line = 0;

    for (; *s; s++) {
        line = *s == '\n' ? 0 : line + 1;
        if ((unsigned char)*s >= 0x80 || line > 900 || *s == '\0')
            return true;
    }
    return false;
}

/* A text body part: headers, blank line, CRLF text. */
static void text_part(struct mb *m, const char *subtype, const char *s)
{
    bool b64 = needs_base64(s);

    puts_(m, "Content-Type: text/");
    puts_(m, subtype);
    puts_(m, "; charset=utf-8\r\nContent-Transfer-Encoding: ");
    puts_(m, b64 ? "base64\r\n\r\n" : "7bit\r\n\r\n");
    if (b64) {
        base64_lines(m, (const unsigned char *)s, strlen(s));
        return;
    }
    for (; *s; s++) {
        if (*s == '\r' && s[1] == '\n')
            continue;
        if (*s == '\n' || *s == '\r')
            puts_(m, "\r\n");
        else
            put(m, s, 1);
    }
    puts_(m, "\r\n");
}

static void boundary(char *dst, const char *tag)
{
    unsigned char r[12];
    char hex[25];

    if (cm_random(r, sizeof(r)) < 0)
        memset(r, 7, sizeof(r));
    cm_hex_encode(r, sizeof(r), hex);
    snprintf(dst, 64, "=_jmapgate_%s_%s", tag, hex);
}

static void body(struct mb *m, const struct gw_mime_msg *msg)
{
    char b[64];

    if (msg->text != NULL && msg->html != NULL) {
        boundary(b, "alt");
        puts_(m, "Content-Type: multipart/alternative; boundary=\"");
        puts_(m, b);
        puts_(m, "\"\r\n\r\n--");
        puts_(m, b);
        puts_(m, "\r\n");
        text_part(m, "plain", msg->text);
        puts_(m, "--");
        puts_(m, b);
        puts_(m, "\r\n");
        text_part(m, "html", msg->html);
        puts_(m, "--");
        puts_(m, b);
        puts_(m, "--\r\n");
    } else {
        text_part(m, msg->html ? "html" : "plain", msg->html ? msg->html : msg->text);
    }
}

static void param(struct mb *m, const char *key, const char *v)
{
    char enc[4];

    puts_(m, ";\r\n ");
    puts_(m, key);
    if (is_ascii(v) && strpbrk(v, "\"\\") == NULL) {
        puts_(m, "=\"");
        puts_(m, v);
        puts_(m, "\"");
        return;
    }
    puts_(m, "*=utf-8''");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr(".-_", *p)) {
            put(m, (const char *)p, 1);
        } else {
            snprintf(enc, sizeof(enc), "%%%02X", *p);
            puts_(m, enc);
        }
    }
}

static int attachment(struct mb *m, const struct gw_mime_att *a)
{
    const char *type = a->type ? a->type : "application/octet-stream";

    if (!type_valid(type))
        return cm_err_set(m->err, CM_EINVAL, "attachments: bad type");
    if (a->filename != NULL && (has_ctl_line(a->filename) || strlen(a->filename) > 255))
        return cm_err_set(m->err, CM_EINVAL, "attachments: bad filename");
    puts_(m, "Content-Type: ");
    puts_(m, type);
    puts_(m, "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment");
    if (a->filename != NULL)
        param(m, "filename", a->filename);
    puts_(m, "\r\n\r\n");
    base64_lines(m, a->data, a->len);
    return 0;
}

static int headers(struct mb *m, const struct gw_mime_msg *msg)
{
    char date[64];
    struct tm tm;
    int rc;

    if (has_ctl_line(msg->subject) || has_ctl_line(msg->in_reply_to) ||
        has_ctl_line(msg->references))
        return cm_err_set(m->err, CM_EINVAL, "line breaks are not allowed in header fields");
    if (msg->in_reply_to != NULL && !msgid_valid(msg->in_reply_to))
        return cm_err_set(m->err, CM_EINVAL, "inReplyTo: not a message id <id@host>");
    if (msg->references != NULL && (rc = check_refs(msg->references, m->err)) < 0)
        return rc;
    gmtime_r(&msg->date, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    puts_(m, "Date: ");
    puts_(m, date);
    puts_(m, "\r\n");
    if ((rc = addr_field(m, "From", &msg->from, 1)) < 0 ||
        (rc = addr_field(m, "To", msg->to, msg->nto)) < 0 ||
        (rc = addr_field(m, "Cc", msg->cc, msg->ncc)) < 0 ||
        (rc = addr_field(m, "Bcc", msg->bcc, msg->nbcc)) < 0)
        return rc;
    puts_(m, "Subject: ");
    text_value(m, msg->subject ? msg->subject : "");
    puts_(m, "\r\nMessage-ID: ");
    puts_(m, msg->message_id);
    puts_(m, "\r\n");
    opt_header(m, "In-Reply-To", msg->in_reply_to);
    opt_header(m, "References", msg->references);
    puts_(m, "MIME-Version: 1.0\r\n");
    return 0;
}

int gw_mime_build(const struct gw_mime_msg *msg, char **out_r, size_t *len_r, struct cm_err *err)
{
    struct mb m = {.err = err};
    char b[64];
    int rc;

    *out_r = NULL;
    if (msg->text == NULL && msg->html == NULL)
        return cm_err_set(err, CM_EINVAL, "text or html is required");
    if (msg->message_id == NULL || !msgid_valid(msg->message_id))
        return cm_err_set(err, CM_EINVAL, "bad message id");
    cm_buf_init(&m.b, msg->max_bytes ? msg->max_bytes : (64u << 20));
    rc = headers(&m, msg);
    if (rc == 0 && msg->natt == 0) {
        body(&m, msg);
    } else if (rc == 0) {
        boundary(b, "mix");
        puts_(&m, "Content-Type: multipart/mixed; boundary=\"");
        puts_(&m, b);
        puts_(&m, "\"\r\n\r\nThis is a MIME message.\r\n");
        for (size_t i = 0; rc == 0 && i <= msg->natt; i++) {
            puts_(&m, "--");
            puts_(&m, b);
            puts_(&m, "\r\n");
            if (i == 0)
                body(&m, msg);
            else
                rc = attachment(&m, &msg->att[i - 1]);
        }
        puts_(&m, "--");
        puts_(&m, b);
        puts_(&m, "--\r\n");
    }
    if (rc == 0 && m.rc != 0)
        rc =
            cm_err_set(err, m.rc, m.rc == CM_ELIMIT ? "the message is too large" : "out of memory");
    if (rc == 0 && (*out_r = cm_buf_steal(&m.b, len_r)) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    cm_buf_fini(&m.b);
    return rc;
}

void gw_mime_message_id(const char *domain, char *dst, size_t cap)
{
    unsigned char r[16];
    char hex[33];

    if (cm_random(r, sizeof(r)) < 0)
        memset(r, 0, sizeof(r));
    cm_hex_encode(r, sizeof(r), hex);
    snprintf(dst, cap, "<%s@%s>", hex, domain);
}

/* ---- gw_mime_build_tree: a message from a tree of parts ---- */

#define MAX_TREE_DEPTH 16

static bool field_name_valid(const char *n)
{
    if (n == NULL || n[0] == '\0' || strlen(n) > 200)
        return false;
    for (; *n; n++) {
        if (*n < 33 || *n > 126 || *n == ':')
            return false;
    }
    return true;
}

/* A raw value may hold line breaks only as folding (CRLF + WSP), and no
   line over 998 bytes (the first one after "Name:", name_len bytes). */
static bool raw_value_valid(const char *v, size_t name_len)
{
    size_t line = name_len + 1;

    for (const char *p = v; *p; p++) {
        if (*p == '\r' && !(p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')))
            return false;
        if (*p == '\n' && (p == v || p[-1] != '\r'))
            return false;
        line = *p == '\n' ? 0 : line + 1;
        if (line > 998)
            return false;
    }
    return strlen(v) < 16384;
}

/* "<a@b> <c@d> ..." folded before an id that would pass column 76. */
static void folded_ids(struct mb *m, const char *ids, size_t col)
{
    const char *p = ids;

    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);

        if (p != ids) {
            puts_(m, col + 1 + n > 76 ? "\r\n " : " ");
            col = col + 1 + n > 76 ? 1 : col + 1;
        }
        put(m, p, n);
        col += n;
        p += n;
        while (*p == ' ')
            p++;
    }
}

static int tree_header(struct mb *m, const struct gw_mime_header *h)
{
    int rc;

    if (!field_name_valid(h->name))
        return cm_err_set(m->err, CM_EINVAL, "bad header field name");
    if (h->kind == GW_MIME_H_ADDRS)
        return addr_field(m, h->name, h->addrs, h->naddrs);
    if (h->value == NULL)
        return cm_err_set(m->err, CM_EINVAL, "%.80s: no value", h->name);
    if (h->kind == GW_MIME_H_RAW) {
        if (!raw_value_valid(h->value, strlen(h->name)))
            return cm_err_set(m->err, CM_EINVAL, "%.80s: bad line breaks", h->name);
        puts_(m, h->name);
        puts_(m, ":");
        puts_(m, h->value);
        puts_(m, "\r\n");
        return 0;
    }
    if (has_ctl_line(h->value))
        return cm_err_set(m->err, CM_EINVAL, "%.80s: line breaks are not allowed", h->name);
    if (h->kind == GW_MIME_H_IDS && (rc = check_refs(h->value, m->err)) < 0)
        return rc;
    puts_(m, h->name);
    puts_(m, ": ");
    if (h->kind == GW_MIME_H_IDS)
        folded_ids(m, h->value, strlen(h->name) + 2);
    else if (is_ascii(h->value) && strlen(h->name) + strlen(h->value) > 900)
        encoded_words(m, h->value); /* no line over 998 */
    else
        text_value(m, h->value);
    puts_(m, "\r\n");
    return 0;
}

/* "; key=\"v\"" or RFC 2231 "; key*=utf-8''%xx", on its own folded line. */

/* Text with every line end made CRLF (malloc'd), or NULL. */
static char *crlf_text(const unsigned char *s, size_t len, size_t *out_len)
{
    char *o = malloc(2 * len + 1);
    size_t n = 0;

    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
                i++;
            o[n++] = '\r';
            o[n++] = '\n';
        } else {
            o[n++] = (char)s[i];
        }
    }
    o[n] = '\0';
    *out_len = n;
    return o;
}

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP, CTE_B64 };

static enum cte text_cte(const char *s, size_t len)
{
    size_t line = 0, high = 0, longest = 0;
    bool nul = false;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        line = c == '\n' ? 0 : line + 1;
        longest = line > longest ? line : longest;
        high += c >= 0x80;
        nul = nul || c == 0;
    }
    if (nul)
        return CTE_B64;
    if (high == 0 && longest <= 998)
        return CTE_7BIT;
    return high * 4 <= len ? CTE_QP : CTE_B64;
}

/* RFC 2045 §6.7 quoted-printable of CRLF text, lines of at most 76. */
static void qp_body(struct mb *m, const char *s, size_t len)
{
    size_t col = 0;
    char enc[4];

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool eol = i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n';
        bool last = i + 1 == len;
        bool lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol && !last);

        if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
            puts_(m, "\r\n");
            i++;
            col = 0;
            continue;
        }
        if (col + (lit ? 1 : 3) > 75) {
            puts_(m, "=\r\n");
            col = 0;
        }
        if (lit) {
            put(m, (const char *)&c, 1);
            col++;
        } else {
            snprintf(enc, sizeof(enc), "=%02X", c);
            puts_(m, enc);
            col += 3;
        }
    }
}

static bool is_text(const char *type)
{
    return strncasecmp(type, "text/", 5) == 0;
}

static bool is_rfc822(const char *type)
{
    return strcasecmp(type, "message/rfc822") == 0;
}

static bool has_high(const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] >= 0x80)
            return true;
    }
    return false;
}

static const char *const cte_names[] = {"7bit", "8bit", "quoted-printable", "base64"};

static int check_part(struct mb *m, const struct gw_mime_part *p)
{
    bool multi = p->type != NULL && strncasecmp(p->type, "multipart/", 10) == 0;

    if (p->type == NULL || !type_valid(p->type))
        return cm_err_set(m->err, CM_EINVAL, "bad part type");
    if (multi != (p->nsub > 0))
        return cm_err_set(m->err, CM_EINVAL, "a multipart needs parts; only a multipart has them");
    if ((p->name != NULL && (has_ctl_line(p->name) || strlen(p->name) > 255)) ||
        (p->disposition != NULL && strcasecmp(p->disposition, "inline") != 0 &&
         strcasecmp(p->disposition, "attachment") != 0))
        return cm_err_set(m->err, CM_EINVAL, "bad name or disposition");
    if ((p->cid != NULL && (has_ctl_line(p->cid) || strpbrk(p->cid, "<> ") || !is_ascii(p->cid))) ||
        (p->location != NULL && (has_ctl_line(p->location) || !is_ascii(p->location))) ||
        (p->language != NULL && (has_ctl_line(p->language) || !is_ascii(p->language))))
        return cm_err_set(m->err, CM_EINVAL, "bad cid, location, language or charset");
    if (p->charset != NULL && (has_ctl_line(p->charset) || strpbrk(p->charset, "\"; \\")))
        return cm_err_set(m->err, CM_EINVAL, "bad charset");
    return 0;
}

/* The part's fields up to and including the blank line. */
static int part_fields(struct mb *m, const struct gw_mime_part *p, enum cte cte, const char *bnd)
{
    int rc = 0;

    puts_(m, "Content-Type: ");
    puts_(m, p->type);
    if (bnd != NULL) {
        puts_(m, ";\r\n boundary=\"");
        puts_(m, bnd);
        puts_(m, "\"");
        if (strcasecmp(p->type, "multipart/related") == 0) { /* RFC 2387 §3.1 */
            puts_(m, ";\r\n type=\"");
            puts_(m, p->sub[0].type);
            puts_(m, "\"");
        }
    } else if (is_text(p->type) || p->charset != NULL) {
        puts_(m, "; charset=");
        puts_(m, p->charset != NULL ? p->charset : "utf-8");
    }
    if (p->name != NULL)
        param(m, "name", p->name);
    puts_(m, "\r\n");
    if (bnd == NULL) {
        puts_(m, "Content-Transfer-Encoding: ");
        puts_(m, cte_names[cte]);
        puts_(m, "\r\n");
    }
    if (p->disposition != NULL) {
        puts_(m, "Content-Disposition: ");
        puts_(m, p->disposition);
        if (p->name != NULL)
            param(m, "filename", p->name);
        puts_(m, "\r\n");
    }
    if (p->cid != NULL) {
        puts_(m, "Content-ID: <");
        puts_(m, p->cid);
        puts_(m, ">\r\n");
    }
    opt_header(m, "Content-Location", p->location);
    opt_header(m, "Content-Language", p->language);
    for (size_t i = 0; rc == 0 && i < p->nheaders; i++)
        rc = tree_header(m, &p->headers[i]);
    puts_(m, "\r\n");
    return rc;
}

static int leaf(struct mb *m, const struct gw_mime_part *p)
{
    const unsigned char *d = p->data ? p->data : (const unsigned char *)"";
    enum cte cte = CTE_B64;
    char *t = NULL;
    size_t tlen = 0;
    int rc;

    if (is_text(p->type) && p->charset == NULL && !p->exact) {
        if ((t = crlf_text(d, p->len, &tlen)) == NULL)
            return cm_err_set(m->err, CM_ENOMEM, "out of memory");
        cte = text_cte(t, tlen);
    } else if (is_rfc822(p->type)) {
        cte = has_high(d, p->len) ? CTE_8BIT : CTE_7BIT;
    }
    rc = part_fields(m, p, cte, NULL);
    if (rc == 0 && t != NULL && cte == CTE_7BIT)
        put(m, t, tlen);
    else if (rc == 0 && t != NULL && cte == CTE_QP)
        qp_body(m, t, tlen);
    else if (rc == 0 && cte == CTE_B64)
        base64_lines(m, t ? (const unsigned char *)t : d, t ? tlen : p->len);
    else if (rc == 0)
        put(m, (const char *)d, p->len);
    free(t);
    return rc;
}

static int tree_part(struct mb *m, const struct gw_mime_part *p, int depth)
{
    char b[64];
    int rc = check_part(m, p);

    if (rc == 0 && depth > MAX_TREE_DEPTH)
        rc = cm_err_set(m->err, CM_EINVAL, "parts nested too deep");
    if (rc < 0 || p->nsub == 0)
        return rc < 0 ? rc : leaf(m, p);
    boundary(b, "part");
    if ((rc = part_fields(m, p, CTE_7BIT, b)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < p->nsub; i++) {
        puts_(m, i == 0 ? "--" : "\r\n--");
        puts_(m, b);
        puts_(m, "\r\n");
        rc = tree_part(m, &p->sub[i], depth + 1);
    }
    puts_(m, "\r\n--");
    puts_(m, b);
    puts_(m, "--\r\n");
    return rc;
}

int gw_mime_build_tree(const struct gw_mime_header *h, size_t nh, const struct gw_mime_part *root,
                       size_t max_bytes, char **out_r, size_t *len_r, struct cm_err *err)
{
    struct mb m = {.err = err};
    int rc = 0;

    *out_r = NULL;
    cm_buf_init(&m.b, max_bytes ? max_bytes : (64u << 20));
    for (size_t i = 0; rc == 0 && i < nh; i++)
        rc = tree_header(&m, &h[i]);
    puts_(&m, "MIME-Version: 1.0\r\n");
    if (rc == 0)
        rc = tree_part(&m, root, 0);
    if (rc == 0 && m.rc != 0)
        rc =
            cm_err_set(err, m.rc, m.rc == CM_ELIMIT ? "the message is too large" : "out of memory");
    if (rc == 0 && (*out_r = cm_buf_steal(&m.b, len_r)) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    cm_buf_fini(&m.b);
    return rc;
}
