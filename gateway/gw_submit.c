/* gw_submit.c - envelope, identity and limit checks, Bcc removal, SMTP
 * errors -> SetError types (see gw_submit.h). */
#include "gateway/gw_submit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_send.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_smtp.h"

#define ADDR_MAX 256

static int failf(struct gw_submit_fail *f, const char *type, unsigned int status, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static int failf(struct gw_submit_fail *f, const char *type, unsigned int status, const char *fmt,
                 ...)
{
    va_list ap;

    f->type = type;
    f->status = status;
    va_start(ap, fmt);
    vsnprintf(f->desc, sizeof(f->desc), fmt, ap);
    va_end(ap);
    return -1;
}

void gw_submit_fail_fini(struct gw_submit_fail *f)
{
    json_decref(f->extra);
    f->extra = NULL;
}

json_t *gw_submit_fail_json(const struct gw_submit_fail *f)
{
    json_t *o = json_pack("{s:s,s:s}", "type", f->type, "description", f->desc);

    if (o != NULL && f->extra != NULL)
        json_object_update(o, f->extra);
    return o;
}

static bool is_name(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);

    return n > k && strncasecmp(line, name, k) == 0 &&
           (line[k] == ':' || line[k] == ' ' || line[k] == '\t');
}

int gw_submit_strip_bcc(const char *raw, size_t len, char **out_r, size_t *out_len_r)
{
    char *out = malloc(len + 1);
    size_t i = 0, o = 0;
    bool in_header = true, skipping = false;

    if (out == NULL)
        return CM_ENOMEM;
    while (i < len) {
        const char *nl = memchr(raw + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (raw + i)) + 1 : len - i;
        const char *line = raw + i;

        if (in_header) {
            if (n == 1 || (n == 2 && line[0] == '\r'))
                in_header = false, skipping = false;
            else if (line[0] == ' ' || line[0] == '\t')
                ; /* a continuation: keeps the state of its field */
            else
                skipping = is_name(line, n, "Bcc") || is_name(line, n, "Resent-Bcc");
        }
        if (!(in_header && skipping)) {
            memcpy(out + o, line, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    *out_r = out;
    *out_len_r = o;
    return 0;
}

/* ---- envelope --------------------------------------------------------- */

static const char *email_of(json_t *addr)
{
    return json_string_value(json_object_get(addr, "email"));
}

static void add_unique(json_t *list, const char *email)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
    {
        if (strcasecmp(json_string_value(v), email) == 0)
            return;
    }
    json_array_append_new(list, json_string(email));
}

/* Recipients: To, Cc and Bcc of the headers, or the given envelope's. */
static json_t *recipients(const struct gw_submit *sub, const struct ib_header_list *hl)
{
    static const char *const fields[] = {"to", "cc", "bcc"};
    json_t *out = json_array(), *v, *rcpt = json_object_get(sub->envelope, "rcptTo");
    size_t i;

    if (sub->envelope != NULL) {
        json_array_foreach(rcpt, i, v)
        {
            const char *e = email_of(v);

            json_array_append_new(out, json_string(e ? e : ""));
        }
        return out;
    }
    for (size_t k = 0; k < 3; k++) {
        bool known;
        json_t *a = ib_header_email_prop(hl, fields[k], &known);

        json_array_foreach(a, i, v)
        {
            if (email_of(v) != NULL)
                add_unique(out, email_of(v));
        }
        json_decref(a);
    }
    return out;
}

/* From must name the identity; MAIL FROM must be it. */
static int check_sender(const struct gw_submit *sub, const struct ib_header_list *hl,
                        const char *identity, const char **mail_from_r, struct gw_submit_fail *f)
{
    bool known, ok = false;
    json_t *from = ib_header_email_prop(hl, "from", &known), *v;
    json_t *mf = json_object_get(sub->envelope, "mailFrom");
    size_t i;

    if (json_array_size(from) == 0) {
        json_decref(from);
        return failf(f, "invalidEmail", 400, "the message has no From address");
    }
    json_array_foreach(from, i, v)
    {
        if (email_of(v) != NULL && strcasecmp(email_of(v), identity) == 0)
            ok = true;
    }
    json_decref(from);
    if (!ok)
        return failf(f, "forbiddenFrom", 403, "From must be this account's address %s", identity);
    *mail_from_r = identity;
    if (sub->envelope != NULL) {
        const char *e = email_of(mf);

        if (e == NULL || !ib_smtp_addr_valid(e))
            return failf(f, "invalidProperties", 400, "envelope/mailFrom is not a valid address");
        if (strcasecmp(e, identity) != 0)
            return failf(f, "forbiddenMailFrom", 403, "the envelope sender must be %s", identity);
        *mail_from_r = e;
    }
    return 0;
}

static int check_rcpts(const struct gw_submit *sub, json_t *rcpts, struct gw_submit_fail *f)
{
    unsigned int max = sub->ctx->set->smtp_max_recipients;
    json_t *bad = json_array(), *v;
    size_t i;

    if (json_array_size(rcpts) == 0) {
        json_decref(bad);
        return failf(f, "noRecipients", 400, "the message has no recipients");
    }
    if (json_array_size(rcpts) > max) {
        json_decref(bad);
        f->extra = json_pack("{s:i}", "maxRecipients", (int)max);
        return failf(f, "tooManyRecipients", 400, "at most %u recipients", max);
    }
    json_array_foreach(rcpts, i, v)
    {
        if (!ib_smtp_addr_valid(json_string_value(v)))
            json_array_append(bad, v);
    }
    if (json_array_size(bad) == 0) {
        json_decref(bad);
        return 0;
    }
    f->extra = json_pack("{s:o}", "invalidRecipients", bad);
    return failf(f, "invalidRecipients", 400, "not valid addresses");
}

/* ---- SMTP errors ------------------------------------------------------ */

static int smtp_failed(int rc, const struct ib_smtp_result *res, json_t *rcpts, const char *errmsg,
                       struct gw_submit_fail *f)
{
    if (rc == CM_EAUTH)
        return failf(f, "forbidden", 502, "the SMTP server refused the login: %s", errmsg);
    if (rc == CM_ETIMEOUT)
        return failf(f, "serverUnavailable", 504, "%s", errmsg);
    if (rc == CM_EUNAVAIL || rc == CM_ENOMEM)
        return failf(f, "serverUnavailable", 503, "%s", errmsg);
    if (rc == CM_ELIMIT || (res->code == 552 && res->stage != IB_SMTP_RCPT)) {
        if (res->size_limit > 0)
            f->extra = json_pack("{s:I}", "maxSize", (json_int_t)res->size_limit);
        return failf(f, "tooLarge", 413, "%s", errmsg);
    }
    if (res->stage == IB_SMTP_MAIL)
        return failf(f, "forbiddenMailFrom", 403, "%s", errmsg);
    if (res->stage == IB_SMTP_RCPT) {
        json_t *bad = json_array(), *v;
        size_t i;

        if (res->code == 452 || res->code == 552 || strstr(res->text, "5.5.3") != NULL) {
            json_decref(bad);
            return failf(f, "tooManyRecipients", 400, "%s", errmsg);
        }
        json_array_foreach(rcpts, i, v)
        {
            if (res->rejected[i])
                json_array_append(bad, v);
        }
        f->extra = json_pack("{s:o}", "invalidRecipients", bad);
        return failf(f, "invalidRecipients", 400, "%s", errmsg);
    }
    if (strstr(res->text, "5.7.") != NULL)
        return failf(f, "forbiddenFrom", 403, "%s", errmsg);
    return failf(f, "forbidden", 502, "%s", errmsg);
}

static int smtp_send(const struct gw_submit *sub, const char *mail_from, json_t *rcpts,
                     const char *data, size_t len, struct gw_submit_fail *f)
{
    size_t n = json_array_size(rcpts);
    const char **list = calloc(n, sizeof(*list));
    bool *rejected = calloc(n, sizeof(*rejected));
    struct ib_smtp_result res = {.rejected = rejected};
    struct cm_err err = CM_ERR_INIT;
    int rc;

    if (list == NULL || rejected == NULL) {
        free(list);
        free(rejected);
        return failf(f, "serverUnavailable", 503, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        list[i] = json_string_value(json_array_get(rcpts, i));
    rc = ib_smtp_send(gw_send_smtp(sub->ctx->send), sub->cr, mail_from, list, n, data, len, &res,
                      &err);
    if (rc < 0) {
        if (res.stage < IB_SMTP_DATA)
            gw_send_rate_refund(sub->ctx->send, sub->account_id);
        rc = smtp_failed(rc, &res, rcpts, err.msg, f);
    }
    free(list);
    free(rejected);
    return rc;
}

int gw_submit_send(const struct gw_submit *sub, const char *raw, size_t len, json_t **envelope_r,
                   struct gw_submit_fail *f)
{
    char identity[ADDR_MAX];
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    const char *mail_from = NULL;
    json_t *rcpts = NULL;
    char *data = NULL;
    size_t dlen = 0;
    unsigned int wait;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    *envelope_r = NULL;
    if (gw_send_identity_email(sub->ctx->set, sub->cr->username, identity, sizeof(identity)) < 0)
        return failf(f, "forbiddenMailFrom", 403,
                     "this login has no sender address (set mail_domain)");
    if (ib_header_parse(raw, len, &hl, &err) < 0)
        return failf(f, "invalidEmail", 400, "cannot read the header: %s", err.msg);
    if (check_sender(sub, hl, identity, &mail_from, f) < 0)
        goto done;
    rcpts = recipients(sub, hl);
    if (check_rcpts(sub, rcpts, f) < 0)
        goto done;
    if (gw_submit_strip_bcc(raw, len, &data, &dlen) < 0) {
        failf(f, "serverUnavailable", 503, "out of memory");
        goto done;
    }
    wait = gw_send_rate_take(sub->ctx->send, sub->account_id, cm_now_ms());
    if (wait > 0) {
        f->retry_after = wait;
        failf(f, "rateLimit", 429, "too many messages sent; retry in %u s", wait);
        goto done;
    }
    if (smtp_send(sub, mail_from, rcpts, data, dlen, f) < 0) {
        cm_info("", "send refused: account=%s error=%s", sub->account_id, f->type);
        goto done;
    }
    cm_info("", "sent: account=%s recipients=%zu bytes=%zu", sub->account_id,
            json_array_size(rcpts), dlen);
    *envelope_r =
        json_pack("{s:{s:s,s:n},s:[]}", "mailFrom", "email", mail_from, "parameters", "rcptTo");
    for (size_t i = 0; *envelope_r != NULL && i < json_array_size(rcpts); i++)
        json_array_append_new(
            json_object_get(*envelope_r, "rcptTo"),
            json_pack("{s:O,s:n}", "email", json_array_get(rcpts, i), "parameters"));
    rc = 0;
done:
    ib_header_list_free(&hl);
    json_decref(rcpts);
    free(data);
    return rc;
}
