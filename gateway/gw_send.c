/* gw_send.c - SMTP settings, the send rate limiter and the identity address. */
#include "gateway/gw_send.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gw_settings.h"
#include "imapbridge/ib_smtp.h"

#define SETS 1024
#define WAYS 4
#define KEY_MAX 48

struct bucket {
    char key[KEY_MAX]; /* "" = free */
    double tokens;
    uint64_t at_ms;
};

struct gw_send {
    const struct gw_settings *set;
    struct ib_smtp_server smtp;
    pthread_mutex_t lock;
    double rate_per_ms, burst;
    struct bucket table[SETS][WAYS];
};

int gw_send_new(const struct gw_settings *set, struct gw_send **s_r, struct cm_err *err)
{
    const char *ca = set->smtp_tls_ca_file ? set->smtp_tls_ca_file : set->tls_ca_file;
    struct gw_send *s;
    int rc;

    *s_r = NULL;
    if (set->smtp_url == NULL || set->smtp_url[0] == '\0')
        return 0;
    if (ca != NULL && access(ca, R_OK) != 0)
        return cm_err_set(err, CM_ECONFIG, "smtp_tls_ca_file: cannot read \"%s\"", ca);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_smtp_parse_url(set->smtp_url, &s->smtp, err);
    if (rc == 0 && ca != NULL && (s->smtp.ca_file = strdup(ca)) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc < 0) {
        ib_smtp_server_fini(&s->smtp);
        free(s);
        return rc;
    }
    s->set = set;
    s->smtp.tls_verify = set->tls_verify;
    s->smtp.timeout_secs = set->smtp_timeout_secs;
    s->burst = set->send_rate_limit;
    s->rate_per_ms = set->send_rate_limit / 60000.0;
    pthread_mutex_init(&s->lock, NULL);
    *s_r = s;
    return 0;
}

void gw_send_free(struct gw_send **sp)
{
    struct gw_send *s = *sp;

    *sp = NULL;
    if (s == NULL)
        return;
    ib_smtp_server_fini(&s->smtp);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const struct ib_smtp_server *gw_send_smtp(const struct gw_send *s)
{
    return &s->smtp;
}

const struct gw_settings *gw_send_settings(const struct gw_send *s)
{
    return s->set;
}

static size_t set_of(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h % SETS);
}

/* The bucket of key, refilled to now (lock held). */
static struct bucket *bucket_of(struct gw_send *s, const char *key, uint64_t now_ms)
{
    struct bucket *set = s->table[set_of(key)], *b = NULL;

    for (int i = 0; i < WAYS && b == NULL; i++) {
        if (strcmp(set[i].key, key) == 0)
            b = &set[i];
    }
    if (b == NULL) {
        b = &set[0];
        for (int i = 0; i < WAYS; i++) {
            double t = set[i].tokens + (now_ms - set[i].at_ms) * s->rate_per_ms;

            if (set[i].key[0] == '\0' || t > b->tokens + (now_ms - b->at_ms) * s->rate_per_ms)
                b = &set[i];
            if (set[i].key[0] == '\0')
                break;
        }
        snprintf(b->key, sizeof(b->key), "%s", key);
        b->tokens = s->burst;
        b->at_ms = now_ms;
    }
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * s->rate_per_ms;
        if (b->tokens > s->burst)
            b->tokens = s->burst;
        b->at_ms = now_ms;
    }
    return b;
}

unsigned int gw_send_rate_take(struct gw_send *s, const char *account, uint64_t now_ms)
{
    unsigned int wait = 0;
    struct bucket *b;

    pthread_mutex_lock(&s->lock);
    b = bucket_of(s, account, now_ms);
    if (b->tokens >= 1.0)
        b->tokens -= 1.0;
    else {
        uint64_t ms = (uint64_t)((1.0 - b->tokens) / s->rate_per_ms + 0.5);

        wait = (unsigned int)((ms + 999) / 1000);
        if (wait == 0)
            wait = 1;
    }
    pthread_mutex_unlock(&s->lock);
    return wait;
}

void gw_send_rate_refund(struct gw_send *s, const char *account)
{
    struct bucket *set = s->table[set_of(account)];

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < WAYS; i++) {
        if (strcmp(set[i].key, account) == 0 && set[i].tokens + 1.0 <= s->burst)
            set[i].tokens += 1.0;
    }
    pthread_mutex_unlock(&s->lock);
}

int gw_send_identity_email(const struct gw_settings *set, const char *username, char *dst,
                           size_t cap)
{
    int n;

    if (strchr(username, '@') != NULL)
        n = snprintf(dst, cap, "%s", username);
    else if (set->mail_domain != NULL && set->mail_domain[0] != '\0')
        n = snprintf(dst, cap, "%s@%s", username, set->mail_domain);
    else
        return CM_ENOENT;
    if (n < 0 || (size_t)n >= cap || !ib_smtp_addr_valid(dst))
        return CM_ENOENT;
    return 0;
}
