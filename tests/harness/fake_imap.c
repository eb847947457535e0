/* fake_imap.c - scripted in-process IMAP server for unit tests. */
#include "harness/fake_imap.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

struct fake_conn {
    struct fake_imap *srv;
    const struct fake_imap_step *script;
    int fd;
    pthread_t thread;
    char tag[64];
    char line[LINE_MAX_BYTES];
    char inbuf[LINE_MAX_BYTES];
    size_t inlen;
    bool answered;  /* sent something since the client last had to be waited for */
};

struct fake_imap {
    const struct fake_imap_step *const *scripts;
    size_t nscripts;
    const struct fake_imap_step *one[1];
    int lfd;
    unsigned int port;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stopping;
    unsigned int nconns, failures, round_trips;
    struct fake_conn *conns[FAKE_IMAP_MAX_CONNS];
    char error[512];
};

static bool stopping(struct fake_imap *f)
{
    bool s;

    pthread_mutex_lock(&f->mu);
    s = f->stopping;
    pthread_mutex_unlock(&f->mu);
    return s;
}

static void record(struct fake_imap *f, const char *what, const char *line)
{
    pthread_mutex_lock(&f->mu);
    if (f->failures++ == 0)
        snprintf(f->error, sizeof(f->error), "%.64s: \"%.400s\"", what, line);
    pthread_mutex_unlock(&f->mu);
}

/* Read one line (without CRLF) into c->line. 0, or -1 on EOF/stop. */
static int read_line(struct fake_conn *c)
{
    for (;;) {
        char *nl = memchr(c->inbuf, '\n', c->inlen);
        struct pollfd pfd = { c->fd, POLLIN, 0 };
        ssize_t r;

        if (nl != NULL) {
            size_t n = (size_t)(nl - c->inbuf);

            memcpy(c->line, c->inbuf, n);
            c->line[n > 0 && c->line[n - 1] == '\r' ? n - 1 : n] = '\0';
            memmove(c->inbuf, nl + 1, c->inlen - n - 1);
            c->inlen -= n + 1;
            if (getenv("FAKE_IMAP_TRACE") != NULL) /* every line the script reads */
                fprintf(stderr, "fake< %s\n", c->line);
            return 0;
        }
        if (c->inlen == sizeof(c->inbuf) || stopping(c->srv))
            return -1;
        if (c->answered) { /* the client has to read our answer before it goes on */
            c->answered = false;
            pthread_mutex_lock(&c->srv->mu);
            c->srv->round_trips++;
            pthread_mutex_unlock(&c->srv->mu);
        }
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        r = recv(c->fd, c->inbuf + c->inlen, sizeof(c->inbuf) - c->inlen, 0);
        if (r <= 0)
            return -1;
        c->inlen += (size_t)r;
    }
}

static void send_text(struct fake_conn *c, const char *text)
{
    char out[LINE_MAX_BYTES * 2];
    size_t o = 0;

    for (const char *p = text; *p != '\0' && o + sizeof(c->tag) < sizeof(out);) {
        if (strncmp(p, "$TAG", 4) == 0) {
            size_t tl = strlen(c->tag);

            memcpy(out + o, c->tag, tl);
            o += tl;
            p += 4;
        } else {
            out[o++] = *p++;
        }
    }
    c->answered = c->answered || o > 0;
    for (size_t off = 0; off < o;) {
        ssize_t r = send(c->fd, out + off, o - off, MSG_NOSIGNAL);

        if (r <= 0)
            return;
        off += (size_t)r;
    }
}

/* Returns 0 when the line matches the expectation. */
static int expect(struct fake_conn *c, const char *pfx)
{
    const char *sp;

    if (read_line(c) < 0) {
        record(c->srv, "connection ended while expecting", pfx);
        return -1;
    }
    if (pfx[0] == '^') {
        if (strncasecmp(c->line, pfx + 1, strlen(pfx + 1)) == 0)
            return 0;
    } else {
        sp = strchr(c->line, ' ');
        if (sp != NULL && (size_t)(sp - c->line) < sizeof(c->tag)) {
            memcpy(c->tag, c->line, (size_t)(sp - c->line));
            c->tag[sp - c->line] = '\0';
            if (strncasecmp(sp + 1, pfx, strlen(pfx)) == 0)
                return 0;
        }
    }
    if (getenv("FAKE_IMAP_TRACE") != NULL)
        fprintf(stderr, "fake: expected [%s]\n", pfx);
    record(c->srv, "unexpected line", c->line);
    return -1;
}

static void sleep_ms(struct fake_imap *f, unsigned int ms)
{
    while (ms > 0 && !stopping(f)) {
        unsigned int step = ms < 20 ? ms : 20;
        struct timespec ts = { 0, (long)step * 1000000L };

        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* After the script: answer LOGOUT, flag anything else. */
static void epilogue(struct fake_conn *c)
{
    while (read_line(c) == 0) {
        const char *sp = strchr(c->line, ' ');

        if (sp != NULL && (size_t)(sp - c->line) < sizeof(c->tag)) {
            memcpy(c->tag, c->line, (size_t)(sp - c->line));
            c->tag[sp - c->line] = '\0';
        }
        if (sp != NULL && strcasecmp(sp + 1, "LOGOUT") == 0) {
            send_text(c, "* BYE logging out\r\n$TAG OK LOGOUT done\r\n");
            return;
        }
        record(c->srv, "unexpected line after the script", c->line);
        send_text(c, "$TAG BAD unexpected\r\n");
    }
}

static void *conn_main(void *arg)
{
    struct fake_conn *c = arg;
    const struct fake_imap_step *st = c->script;

    strcpy(c->tag, "*");
    for (; st->op != FAKE_IMAP_END; st++) {
        if (st->op == FAKE_IMAP_SEND)
            send_text(c, st->text);
        else if (st->op == FAKE_IMAP_EXPECT && expect(c, st->text) < 0)
            break;
        else if (st->op == FAKE_IMAP_SLEEP)
            sleep_ms(c->srv, st->ms);
        else if (st->op == FAKE_IMAP_CLOSE)
            break;
    }
    if (st->op == FAKE_IMAP_END)
        epilogue(c);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fake_imap *f = arg;

    while (!stopping(f)) {
        struct pollfd pfd = { f->lfd, POLLIN, 0 };
        struct fake_conn *c;
        int fd;

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        c = calloc(1, sizeof(*c));
        pthread_mutex_lock(&f->mu);
        if (c == NULL || f->nconns >= FAKE_IMAP_MAX_CONNS) {
            pthread_mutex_unlock(&f->mu);
            free(c);
            close(fd);
            continue;
        }
        c->srv = f;
        c->script = f->scripts[f->nconns < f->nscripts ? f->nconns : f->nscripts - 1];
        c->fd = fd;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            pthread_mutex_unlock(&f->mu);
            free(c);
            close(fd);
            continue;
        }
        f->conns[f->nconns++] = c;
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

struct fake_imap *fake_imap_start(const struct fake_imap_step *script)
{
    return fake_imap_start_each(&script, 1);
}

struct fake_imap *fake_imap_start_each(const struct fake_imap_step *const *scripts, size_t n)
{
    struct fake_imap *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    if (f == NULL || n == 0) {
        free(f);
        return NULL;
    }
    if (n == 1) { /* the caller's pointer may not outlive this call */
        f->one[0] = scripts[0];
        scripts = f->one;
    }
    f->scripts = scripts;
    f->nscripts = n;
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(f->lfd, 16) < 0 || getsockname(f->lfd, (struct sockaddr *)&sa, &len) < 0 ||
        pthread_create(&f->thread, NULL, accept_main, f) != 0) {
        if (f->lfd >= 0)
            close(f->lfd);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return NULL;
    }
    f->port = ntohs(sa.sin_port);
    return f;
}

unsigned int fake_imap_port(const struct fake_imap *f)
{
    return f->port;
}

unsigned int fake_imap_connections(struct fake_imap *f)
{
    unsigned int n;

    pthread_mutex_lock(&f->mu);
    n = f->nconns;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned int fake_imap_round_trips(struct fake_imap *f)
{
    unsigned int n;

    pthread_mutex_lock(&f->mu);
    n = f->round_trips;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned int fake_imap_failures(struct fake_imap *f)
{
    unsigned int n;

    pthread_mutex_lock(&f->mu);
    n = f->failures;
    pthread_mutex_unlock(&f->mu);
    return n;
}

const char *fake_imap_error(struct fake_imap *f)
{
    return f->error;
}

void fake_imap_stop(struct fake_imap **fp)
{
    struct fake_imap *f = *fp;

    *fp = NULL;
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    for (unsigned int i = 0; i < f->nconns; i++) {
        pthread_join(f->conns[i]->thread, NULL);
        close(f->conns[i]->fd);
        free(f->conns[i]);
    }
    close(f->lfd);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
