/* gw_jmap_methods.c - the method table. */
#include "gateway/jmap/gw_jmap_methods.h"

#include <string.h>

static const struct gw_jmethod methods[] = {
    { "Core/echo", GW_JMAP_USING_CORE, gw_jmap_core_echo },
    { "Mailbox/get", GW_JMAP_USING_MAIL, gw_jmap_mailbox_get },
    { "Mailbox/changes", GW_JMAP_USING_MAIL, gw_jmap_mailbox_changes },
    { "Mailbox/query", GW_JMAP_USING_MAIL, gw_jmap_mailbox_query },
    { "Mailbox/queryChanges", GW_JMAP_USING_MAIL, gw_jmap_query_changes },
    { "Mailbox/set", GW_JMAP_USING_MAIL, gw_jmap_mailbox_set },
    { "Email/get", GW_JMAP_USING_MAIL, gw_jmap_email_get },
    { "Email/query", GW_JMAP_USING_MAIL, gw_jmap_email_query },
    { "Email/changes", GW_JMAP_USING_MAIL, gw_jmap_email_changes },
    { "Email/queryChanges", GW_JMAP_USING_MAIL, gw_jmap_query_changes },
    { "Email/set", GW_JMAP_USING_MAIL, gw_jmap_email_set },
    { "Email/copy", GW_JMAP_USING_MAIL, gw_jmap_email_copy },
    { "Blob/copy", GW_JMAP_USING_CORE, gw_jmap_blob_copy },
    { "Email/import", GW_JMAP_USING_MAIL, gw_jmap_email_import },
    { "Email/parse", GW_JMAP_USING_MAIL, gw_jmap_email_parse },
    { "Thread/get", GW_JMAP_USING_MAIL, gw_jmap_thread_get },
    { "Thread/changes", GW_JMAP_USING_MAIL, gw_jmap_thread_changes },
    { "SearchSnippet/get", GW_JMAP_USING_MAIL, gw_jmap_snippet_get },
    /* issue 14: sending */
    { "Identity/get", GW_JMAP_USING_SUBMISSION, gw_jmap_identity_get },
    { "Identity/changes", GW_JMAP_USING_SUBMISSION, gw_jmap_identity_changes },
    { "Identity/set", GW_JMAP_USING_SUBMISSION, gw_jmap_identity_set },
    { "EmailSubmission/get", GW_JMAP_USING_SUBMISSION, gw_jmap_submission_get },
    { "EmailSubmission/changes", GW_JMAP_USING_SUBMISSION, gw_jmap_submission_changes },
    { "EmailSubmission/query", GW_JMAP_USING_SUBMISSION, gw_jmap_submission_query },
    { "EmailSubmission/queryChanges", GW_JMAP_USING_SUBMISSION, gw_jmap_query_changes },
    { "EmailSubmission/set", GW_JMAP_USING_SUBMISSION, gw_jmap_submission_set },
};

const struct gw_jmethod *gw_jmethod_find(const char *name)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    }
    return NULL;
}
