/* gw_ops.c - pid file and privilege drop. */
#include "gateway/gw_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_log.h"

int gw_ops_write_pid_file(const char *path, struct cm_err *err)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return cm_err_set(err, CM_ECONFIG, "pid_file: cannot write \"%s\": %s", path,
                          strerror(errno));
    if (write(fd, text, (size_t)n) != n) {
        close(fd);
        return cm_err_set(err, CM_ECONFIG, "pid_file: cannot write \"%s\"", path);
    }
    close(fd);
    return 0;
}

void gw_ops_remove_pid_file(const char *path)
{
    char text[32] = "";
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return;
    if (fgets(text, sizeof(text), f) == NULL)
        text[0] = '\0';
    fclose(f);
    if (strtol(text, NULL, 10) != (long)getpid())
        return; /* another process owns it now */
    if (unlink(path) != 0)
        cm_debug("", "cannot remove pid_file %s: %s", path, strerror(errno));
}

static int find_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
                    struct cm_err *err)
{
    struct passwd *pw = getpwnam(user);
    struct group *gr;

    if (pw == NULL)
        return cm_err_set(err, CM_ECONFIG, "user: no such user \"%s\"", user);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (group != NULL) {
        gr = getgrnam(group);
        if (gr == NULL)
            return cm_err_set(err, CM_ECONFIG, "group: no such group \"%s\"", group);
        *gid = gr->gr_gid;
    }
    return 0;
}

static int switch_to(const char *user, uid_t uid, gid_t gid, struct cm_err *err)
{
    if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        return cm_err_set(err, CM_ECONFIG, "cannot switch to user %s (uid %u, gid %u): %s", user,
                          (unsigned)uid, (unsigned)gid, strerror(errno));
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return cm_err_set(err, CM_ECONFIG, "privileges could be regained after the switch");
    return 0;
}

int gw_ops_drop_privileges(const char *user, const char *group, bool allow_root,
                           struct cm_err *err)
{
    uid_t uid = 0;
    gid_t gid = 0;
    int rc;

    if (geteuid() != 0) {
        struct passwd *pw = user ? getpwnam(user) : NULL;
        struct group *gr = group ? getgrnam(group) : NULL;

        if ((user != NULL && (pw == NULL || pw->pw_uid != geteuid())) ||
            (group != NULL && (gr == NULL || gr->gr_gid != getegid())))
            return cm_err_set(err, CM_ECONFIG,
                              "user/group: switching needs root (started as uid %u)",
                              (unsigned)geteuid());
        return 0;
    }
    if (user == NULL) {
        if (!allow_root)
            return cm_err_set(err, CM_ECONFIG,
                              "refusing to run as root: set user (JMAPGATE_USER) to switch to "
                              "after binding, or allow_root=true (JMAPGATE_ALLOW_ROOT)");
        cm_warn("", "running as root (allow_root=true)");
        return 0;
    }
    rc = find_ids(user, group, &uid, &gid, err);
    if (rc == 0)
        rc = switch_to(user, uid, gid, err);
    if (rc == 0)
        cm_info("", "switched to user %s (uid %u, gid %u)", user, (unsigned)uid, (unsigned)gid);
    return rc;
}
