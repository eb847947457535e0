/* fake_jmap.c - see fake_jmap.h. */
#include "harness/fake_jmap.h"

#include <string.h>

#include "gateway/gw_error.h"
#include "gateway/jmap/gw_jmail.h"
#include "harness/th.h"
#include "imapbridge/ib_loccache.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_thread.h"

const unsigned char fake_jmap_key[32] = "fake-jmap state key 0123456789a";

const char *fake_jmap_mailbox_id(const char *imap_name, unsigned int uidvalidity)
{
    static char ids[8][IB_MAILBOX_ID_LEN + 1];
    static unsigned int next;
    char *dst = ids[next++ % 8];

    ib_mailbox_id_derive(imap_name, true, uidvalidity, dst);
    return dst;
}

int fake_jmap_open(struct fake_jmap *j, const struct fake_imap_step *script)
{
    memset(j, 0, sizeof(*j));
    if (fake_session_open(&j->x, script, "pw", 2) < 0 || j->x.s == NULL)
        return -1;
    memcpy(j->ctx.keys.state_key, fake_jmap_key, sizeof(j->ctx.keys.state_key));
    j->set.max_upload_bytes = 50u * 1024 * 1024;
    j->set.upload_ttl_secs = 3600;
    j->ctx.set = &j->set;
    /* the instance's caches, as gw_main makes them (small: tests fill few) */
    j->ctx.loccache = ib_loccache_new(1024);
    j->ctx.threads = ib_thread_cache_new(1024);
    j->req.ctx = &j->ctx;
    j->jr.req = &j->req;
    strcpy(j->jr.account_id, "a1");
    j->jr.using_mask = GW_JMAP_USING_CORE | GW_JMAP_USING_MAIL;
    j->jr.session = j->x.s;
    j->jr.responses = json_array();
    j->jr.created_ids = json_object();
    return 0;
}

json_t *fake_jmap_call(struct fake_jmap *j, gw_jmethod_fn *fn, const char *name, json_t *args,
                       const char **type_r)
{
    struct gw_jcall c = {&j->jr, name, args, "c0", NULL, NULL};
    struct cm_err err = CM_ERR_INIT;
    json_t *reply;

    if (ib_session_is_broken(j->jr.session)) {
        /* gw_jreq_session would hand it back to the pool, and there is none */
        th_check(false, "session not broken by an earlier call", __FILE__, __LINE__, -1);
        json_decref(args);
        *type_r = "serverFail";
        return NULL;
    }
    if (json_object_get(args, "accountId") == NULL)
        json_object_set_new(args, "accountId", json_string("a1"));
    reply = fn(&c, &err);
    *type_r = reply != NULL ? NULL : c.error_type ? c.error_type : gw_error_jmap_type(err.code);
    json_decref(args);
    return reply;
}

void fake_jmap_next_request(struct fake_jmap *j)
{
    gw_jmail_forget_folders(&j->jr);
}

void fake_jmap_close(struct fake_jmap *j)
{
    ib_folder_list_fini(&j->jr.folders);
    json_decref(j->jr.responses);
    json_decref(j->jr.created_ids);
    j->x.s = j->jr.session;
    fake_session_close(&j->x);
    ib_loccache_free(&j->ctx.loccache);
    ib_thread_cache_free(&j->ctx.threads);
}
