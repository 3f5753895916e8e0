#define _XOPEN_SOURCE 700 /* nftw */
#include "test_util.h"
#include "store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tb_init(struct tb_entry *b, uint64_t origin, uint64_t batch_id, int64_t stamp_ms)
{
    memset(b, 0, sizeof *b);
    entry__init(&b->e);
    b->e.version = 1;
    b->e.stamp_ms = stamp_ms;
    b->e.origin = origin;
    b->e.batch_id = batch_id;
    b->e.commands = b->cmd_ptrs;
}

static Command *next_cmd(struct tb_entry *b, uint64_t client_id, uint64_t seq)
{
    if (b->e.n_commands >= TB_MAX_COMMANDS) {
        abort();
    }
    Command *c = &b->cmds[b->e.n_commands];
    command__init(c);
    c->client_id = client_id;
    c->seq = seq;
    b->cmd_ptrs[b->e.n_commands] = c;
    b->e.n_commands++;
    return c;
}

static void put(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
                const char *value, int cas, uint64_t expected)
{
    size_t i = b->e.n_commands;
    Command *c = next_cmd(b, client_id, seq);
    SettingPut *p = &b->puts[i];
    setting_put__init(p);
    p->key = (char *)key;
    p->value = (char *)value;
    p->has_expected_version = cas;
    p->expected_version = expected;
    c->op_case = COMMAND__OP_SETTING_PUT;
    c->setting_put = p;
}

void tb_put(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
            const char *value)
{
    put(b, client_id, seq, key, value, 0, 0);
}

void tb_put_cas(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
                const char *value, uint64_t expected)
{
    put(b, client_id, seq, key, value, 1, expected);
}

static void del(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key, int cas,
                uint64_t expected)
{
    size_t i = b->e.n_commands;
    Command *c = next_cmd(b, client_id, seq);
    SettingDelete *d = &b->dels[i];
    setting_delete__init(d);
    d->key = (char *)key;
    d->has_expected_version = cas;
    d->expected_version = expected;
    c->op_case = COMMAND__OP_SETTING_DELETE;
    c->setting_delete = d;
}

void tb_del(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key)
{
    del(b, client_id, seq, key, 0, 0);
}

void tb_del_cas(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
                uint64_t expected)
{
    del(b, client_id, seq, key, 1, expected);
}

void tb_announce(struct tb_entry *b, uint64_t id, const char *name, const char *dc)
{
    size_t i = b->e.n_commands;
    Command *c = next_cmd(b, 0, 0);
    NodeAnnounce *a = &b->nodes[i];
    node_announce__init(a);
    a->id = id;
    a->name = (char *)name;
    a->dc = (char *)dc;
    a->raft_address = "127.0.0.1:7001";
    a->api_address = "127.0.0.1:8001";
    a->forward_address = "127.0.0.1:9001";
    c->op_case = COMMAND__OP_NODE_ANNOUNCE;
    c->node_announce = a;
}

void tb_noop(struct tb_entry *b, uint64_t client_id, uint64_t seq)
{
    size_t i = b->e.n_commands;
    Command *c = next_cmd(b, client_id, seq);
    noop__init(&b->noops[i]);
    c->op_case = COMMAND__OP_NOOP;
    c->noop = &b->noops[i];
}

void *tb_pack(const struct tb_entry *b, void *(*alloc)(size_t), size_t *len)
{
    size_t n = entry__get_packed_size(&b->e);
    uint8_t *buf = alloc(store_entry_size(n));
    if (buf == NULL) {
        abort();
    }
    entry__pack(&b->e, buf + STORE_ENTRY_HEAD);
    store_entry_frame(buf, n);
    *len = store_entry_size(n);
    return buf;
}

void tmpdir_make(char *out)
{
    snprintf(out, 64, "/tmp/waihu-store-XXXXXX");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tmpdir_remove(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
