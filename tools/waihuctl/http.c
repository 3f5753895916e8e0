#include "http.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BODY_MAX_BYTES (64u << 20)

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buf *b = userdata;
    size_t n = size * nmemb;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        if (cap > BODY_MAX_BYTES) {
            return 0; /* makes curl fail the transfer */
        }
        grown = realloc(b->data, cap);
        if (grown == NULL) {
            return 0;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int http_client_init(struct http_client *c)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return WAIHU_ENOMEM;
    }
    c->authorization[0] = '\0';
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        curl_global_cleanup();
        return WAIHU_ENOMEM;
    }
    return 0;
}

void http_client_close(struct http_client *c)
{
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        curl_global_cleanup();
    }
}

char *http_escape(struct http_client *c, const char *text)
{
    char *e = curl_easy_escape(c->curl, text, 0);
    char *copy = e != NULL ? strdup(e) : NULL;

    curl_free(e);
    return copy;
}

int http_request(struct http_client *c, const char *endpoint, const char *method,
                 const char *path, const json_t *body, const struct http_write_id *id,
                 long timeout_ms, struct http_response *resp)
{
    CURL *curl = c->curl;
    struct curl_slist *headers = NULL, *h;
    struct buf b = {0};
    char *payload = NULL, *url = NULL;
    char line[64], cerr[CURL_ERROR_SIZE] = "";
    CURLcode cc;
    int rv = WAIHU_ENOMEM;

    memset(resp, 0, sizeof(*resp));
    url = malloc(strlen("http://") + strlen(endpoint) + strlen(path) + 1);
    if (url == NULL) {
        goto out;
    }
    sprintf(url, "http://%s%s", endpoint, path);
    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL) {
            goto out;
        }
        if ((h = curl_slist_append(headers, "Content-Type: application/json")) == NULL) {
            goto out;
        }
        headers = h;
    }
    if ((h = curl_slist_append(headers, "Accept: application/json")) == NULL) {
        goto out;
    }
    headers = h;
    /* curl would send "Expect: 100-continue" for large bodies and wait a second for it. */
    if ((h = curl_slist_append(headers, "Expect:")) == NULL) {
        goto out;
    }
    headers = h;
    if (c->authorization[0] != '\0') {
        if ((h = curl_slist_append(headers, c->authorization)) == NULL) {
            goto out;
        }
        headers = h;
    }
    if (id != NULL && id->client != 0) {
        snprintf(line, sizeof(line), "X-Waihu-Client: %" PRIu64, id->client);
        if ((h = curl_slist_append(headers, line)) == NULL) {
            goto out;
        }
        headers = h;
        snprintf(line, sizeof(line), "X-Waihu-Seq: %" PRIu64, id->seq);
        if ((h = curl_slist_append(headers, line)) == NULL) {
            goto out;
        }
        headers = h;
    }

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "waihuctl/1");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    if (payload != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(resp->errmsg, sizeof(resp->errmsg), "%s",
                 cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
        resp->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        rv = resp->timed_out ? WAIHU_ETIMEDOUT : WAIHU_EIO;
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (b.len > 0) {
        resp->body = json_loadb(b.data, b.len, 0, NULL);
    }
    rv = 0;
out:
    resp->text = b.data != NULL ? b.data : strdup("");
    if (resp->text == NULL && rv == 0) {
        rv = WAIHU_ENOMEM;
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    free(payload);
    free(url);
    return rv;
}

void http_response_free(struct http_response *resp)
{
    json_decref(resp->body);
    free(resp->text);
    resp->body = NULL;
    resp->text = NULL;
}
