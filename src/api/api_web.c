/* The web console's files (docs/console.md): GET/HEAD `/` and `/console/...` from
 * api.web_dir. No authentication: the files hold no data; the pages log in and call the
 * API with a bearer token. Files are read in the thread pool, never on the loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_internal.h"

#define MOD "api"
#define WEB_PREFIX "/console/"
#define WEB_MAX_PATH 200
/* The console's files are a few KiB each; anything larger is not one of them. */
#define WEB_MAX_FILE_BYTES (4u * 1024 * 1024)

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

/* The file under web_dir that url_path names ("index.html" for "/", "/console" and
 * "/console/") and its content type; -1 when the path is not a console file name. Only
 * [A-Za-z0-9._-] segments that do not start with '.' pass (so no "..", no hidden files,
 * no empty segments) and only the extensions above. Pure. */
static int resolve(const char *url_path, char *rel, size_t cap, const char **type)
{
    const char *p;
    if (strcmp(url_path, "/") == 0 || strcmp(url_path, "/console") == 0 ||
        strcmp(url_path, WEB_PREFIX) == 0) {
        p = "index.html";
    } else if (strncmp(url_path, WEB_PREFIX, strlen(WEB_PREFIX)) == 0) {
        p = url_path + strlen(WEB_PREFIX);
    } else {
        return -1;
    }
    size_t len = strlen(p);
    if (len == 0 || len > WEB_MAX_PATH || len >= cap) {
        return -1;
    }
    bool seg_start = true;
    for (const char *c = p; *c; c++) {
        if (*c == '/') {
            if (seg_start) {
                return -1; /* empty segment, or a trailing slash */
            }
            seg_start = true;
            continue;
        }
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
        if (!ok || (seg_start && *c == '.')) {
            return -1;
        }
        seg_start = false;
    }
    if (seg_start) {
        return -1;
    }
    const char *slash = strrchr(p, '/');
    const char *dot = strrchr(slash ? slash : p, '.');
    if (dot == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot + 1, types[i].ext) == 0) {
            memcpy(rel, p, len + 1);
            *type = types[i].type;
            return 0;
        }
    }
    return -1;
}

struct web_read {
    uv_work_t work;
    struct http_request *req;
    const char *type;
    char root[400];
    char rel[WEB_MAX_PATH + 1];
    char *body;
    size_t len;
    int status;       /* 200, 404 or 500 */
    char why[160];    /* logged when not 200 (no file is not logged) */
};

/* Thread pool: resolves symlinks, refuses anything outside root, reads the file. */
static void read_file(uv_work_t *w)
{
    struct web_read *r = w->data;
    char root[PATH_MAX], want[PATH_MAX + WEB_MAX_PATH + 2], real[PATH_MAX];
    int fd = -1;
    r->status = 404;
    if (realpath(r->root, root) == NULL) {
        snprintf(r->why, sizeof r->why, "web_dir %s: %s", r->root, strerror(errno));
        return;
    }
    snprintf(want, sizeof want, "%s/%s", root, r->rel);
    if (realpath(want, real) == NULL) {
        return; /* no such file */
    }
    size_t rlen = strlen(root);
    if (strncmp(real, root, rlen) != 0 || real[rlen] != '/') {
        snprintf(r->why, sizeof r->why, "%s leads outside web_dir", r->rel);
        return;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        goto done;
    }
    if ((uint64_t)st.st_size > WEB_MAX_FILE_BYTES) {
        snprintf(r->why, sizeof r->why, "%s: over %u bytes", r->rel, WEB_MAX_FILE_BYTES);
        goto done;
    }
    r->body = malloc((size_t)st.st_size + 1);
    if (r->body == NULL) {
        r->status = 500;
        snprintf(r->why, sizeof r->why, "%s: out of memory", r->rel);
        goto done;
    }
    while (r->len < (size_t)st.st_size) {
        ssize_t n = read(fd, r->body + r->len, (size_t)st.st_size - r->len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            r->status = 500;
            snprintf(r->why, sizeof r->why, "%s: read: %s", r->rel,
                     n < 0 ? strerror(errno) : "file shrank");
            goto done;
        }
        r->len += (size_t)n;
    }
    r->status = 200;
done:
    if (fd >= 0) {
        close(fd);
    }
}

/* Loop: answers. Touches no struct api (the API may have stopped meanwhile). */
static void file_read(uv_work_t *w, int status)
{
    struct web_read *r = w->data;
    if (status != 0 && r->status == 200) {
        r->status = 500;
    }
    if (r->why[0] != '\0') {
        LOG_W(MOD, "console file refused: %s", r->why);
    }
    if (r->status == 200) {
        http_respond(r->req, 200, r->type, r->body, r->len);
    } else {
        char doc[320];
        int n = snprintf(doc, sizeof doc,
                         "{\"error\":{\"code\":\"%s\",\"message\":\"no console file %s\","
                         "\"field\":null}}",
                         r->status == 404 ? "not_found" : "internal", r->rel);
        http_respond(r->req, r->status, "application/json", doc,
                     n > 0 && (size_t)n < sizeof doc ? (size_t)n : 0);
    }
    free(r->body);
    free(r);
}

bool api_route_web(struct api *a, struct http_request *req, const char *method,
                   const char *path)
{
    if (strcmp(path, "/") != 0 && strcmp(path, "/console") != 0 &&
        strncmp(path, WEB_PREFIX, strlen(WEB_PREFIX)) != 0) {
        return false;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        api_error(a, req, 405, "method_not_allowed", NULL, "the console's files are read-only");
        return true;
    }
    if (a->web_dir[0] == '\0') {
        api_error(a, req, 404, "not_found", NULL, "the console is off (api.web_dir is empty)");
        return true;
    }
    struct web_read *r = calloc(1, sizeof *r);
    if (r == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return true;
    }
    if (resolve(path, r->rel, sizeof r->rel, &r->type) != 0) {
        free(r);
        api_error(a, req, 404, "not_found", NULL, "no console file %s", path);
        return true;
    }
    snprintf(r->root, sizeof r->root, "%s", a->web_dir);
    r->req = req;
    r->work.data = r;
    /* Not counted in responses_by_class: the answer is sent without a. */
    if (uv_queue_work(a->loop, &r->work, read_file, file_read) != 0) {
        free(r);
        api_error(a, req, 503, "unavailable", NULL, "cannot queue the file read");
    }
    return true;
}
