/* Shared by the store tests: builds raft entries (protobuf-c Entry) and temp dirs. */
#ifndef WAIHU_TEST_STORE_UTIL_H
#define WAIHU_TEST_STORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "waihu.pb-c.h"

#define TB_MAX_COMMANDS 16

/* One entry under construction; strings are borrowed from the caller. */
struct tb_entry {
    Entry e;
    Command *cmd_ptrs[TB_MAX_COMMANDS];
    Command cmds[TB_MAX_COMMANDS];
    SettingPut puts[TB_MAX_COMMANDS];
    SettingDelete dels[TB_MAX_COMMANDS];
    NodeAnnounce nodes[TB_MAX_COMMANDS];
    Noop noops[TB_MAX_COMMANDS];
};

void tb_init(struct tb_entry *b, uint64_t origin, uint64_t batch_id, int64_t stamp_ms);
void tb_put(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
            const char *value);
/* Compare-and-set put: expected 0 means "must not exist". */
void tb_put_cas(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
                const char *value, uint64_t expected);
void tb_del(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key);
void tb_del_cas(struct tb_entry *b, uint64_t client_id, uint64_t seq, const char *key,
                uint64_t expected);
void tb_announce(struct tb_entry *b, uint64_t id, const char *name, const char *dc);
void tb_noop(struct tb_entry *b, uint64_t client_id, uint64_t seq);
/* Packs into a buffer from alloc (malloc or raft_malloc); the caller frees it. */
void *tb_pack(const struct tb_entry *b, void *(*alloc)(size_t), size_t *len);

/* mkdtemp under /tmp; out must hold 64 bytes. */
void tmpdir_make(char *out);
/* rm -rf dir. */
void tmpdir_remove(const char *dir);

#endif
