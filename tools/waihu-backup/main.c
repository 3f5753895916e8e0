/* waihu-backup: encrypted full and incremental backups of RocksDB checkpoints to a
 * repository, and their restore (docs/backup.md).
 *   waihu-backup <command> [args] --repo DIR --key-file F
 * Exit codes: 0 ok, 1 I/O failure, 2 usage, 3 key problem, 4 integrity problem (tampered,
 * truncated, missing or foreign data), 5 not found (no repository, no such backup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"

enum exit_code {
    EXIT_OK_ = 0,
    EXIT_IO = 1,
    EXIT_USAGE = 2,
    EXIT_KEY = 3,
    EXIT_INTEGRITY = 4,
    EXIT_NOTFOUND = 5,
};

static const char usage_text[] =
    "usage: waihu-backup <command> [options]\n"
    "  init                          create a repository (and the key file if missing)\n"
    "  backup full|incremental --from CHECKPOINT_DIR [--index N] [--parent ID]\n"
    "  list                          every backup, oldest first\n"
    "  show ID                       one backup's details and files (ID or a unique prefix)\n"
    "  verify [--sample PCT]         decrypt and check every object (or PCT percent)\n"
    "  restore ID --to DIR           restore into DIR (must not exist)\n"
    "  prune --keep N                keep the N newest backups and the chains they need\n"
    "  key rotate --new-key-file F   rewrap the data key under a new master key\n"
    "options of every command:\n"
    "  --repo DIR        repository directory (or WAIHU_BACKUP_REPO)\n"
    "  --key-file F      master key file, 64 hex digits, mode 0600 (or WAIHU_BACKUP_KEY_FILE)\n"
    "  --no-progress     no progress line (shown only when stderr is a terminal)\n"
    "exit codes: 0 ok, 1 I/O failure, 2 usage, 3 key problem, 4 integrity problem,\n"
    "  5 not found\n";

struct args {
    const char *cmd, *sub, *pos;
    const char *repo, *key_file, *from, *to, *parent, *new_key_file;
    unsigned long long index;
    double sample_pct;
    long keep;
    bool progress;
};

static int usage(const char *why)
{
    if (why != NULL) {
        fprintf(stderr, "waihu-backup: %s\n", why);
    }
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

static int exit_of(const struct backup_error *err)
{
    switch (err->fault) {
    case BACKUP_FAULT_USAGE:
        return EXIT_USAGE;
    case BACKUP_FAULT_KEY:
        return EXIT_KEY;
    case BACKUP_FAULT_INTEGRITY:
        return EXIT_INTEGRITY;
    case BACKUP_FAULT_NOTFOUND:
        return EXIT_NOTFOUND;
    default:
        return EXIT_IO;
    }
}

static int fail(const struct backup_error *err)
{
    static const char *const kinds[] = {"error",     "I/O error",       "usage error",
                                        "key error", "INTEGRITY error", "not found"};
    fprintf(stderr, "waihu-backup: %s: %s\n", kinds[err->fault], err->msg);
    return exit_of(err);
}

/* ---- progress ---- */

struct progress {
    uint64_t start_ms, last_ms;
    bool shown;
};

static void progress_show(void *data, const char *what, uint64_t done, uint64_t total)
{
    struct progress *p = data;
    uint64_t now = clock_now_ms();
    if (now - p->last_ms < 200 && done < total) {
        return;
    }
    p->last_ms = now;
    double s = (double)(now - p->start_ms) / 1000.0;
    double mb = (double)done / 1e6;
    fprintf(stderr, "\r%s: %.0f / %.0f MB (%.0f%%), %.0f MB/s   ", what, mb, (double)total / 1e6,
            total ? 100.0 * (double)done / (double)total : 100.0, s > 0 ? mb / s : 0.0);
    p->shown = true;
}

static void progress_end(struct progress *p)
{
    if (p->shown) {
        fputc('\n', stderr);
    }
}

/* ---- commands ---- */

static int open_repo(const struct args *a, struct backup_repo **r)
{
    struct backup_error err = {0};
    if (backup_repo_open(a->repo, a->key_file, r, &err) != 0) {
        return fail(&err);
    }
    return 0;
}

static void fmt_time(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int cmd_init(const struct args *a)
{
    struct backup_error err = {0};
    char id[33];
    if (access(a->key_file, F_OK) != 0) {
        if (backup_key_file_create(a->key_file, &err) != 0) {
            return fail(&err);
        }
        printf("created key file %s: keep a copy offsite, without it nothing restores\n",
               a->key_file);
    }
    if (backup_repo_init(a->repo, a->key_file, id, &err) != 0) {
        return fail(&err);
    }
    printf("initialised repository %s (repo id %s)\n", a->repo, id);
    return 0;
}

static int cmd_backup(const struct args *a, struct backup_repo *r, struct progress *pg)
{
    struct backup_options o = {.incremental = strcmp(a->sub, "incremental") == 0,
                               .parent_id = a->parent,
                               .raft_index = a->index,
                               .progress = a->progress ? progress_show : NULL,
                               .progress_data = pg};
    struct backup_stats st;
    struct backup_error err = {0};
    char id[BACKUP_ID_CAP];
    int rv = backup_create(r, a->from, &o, id, &st, &err);
    progress_end(pg);
    if (rv != 0) {
        return fail(&err);
    }
    double s = (double)st.elapsed_ms / 1000.0;
    printf("backup %s (%s): %u files, %.1f MB read, %u new objects (%.1f MB), %.1f MB shipped, "
           "%.2f s, %.1f MB/s\n",
           id, o.incremental ? "incremental" : "full", st.files, (double)st.bytes_read / 1e6,
           st.objects_new, (double)st.bytes_new / 1e6, (double)st.bytes_shipped / 1e6, s,
           s > 0 ? (double)st.bytes_read / 1e6 / s : 0.0);
    printf("stats: id=%s files=%u bytes_read=%llu objects_new=%u bytes_new=%llu "
           "bytes_shipped=%llu elapsed_ms=%llu\n",
           id, st.files, (unsigned long long)st.bytes_read, st.objects_new,
           (unsigned long long)st.bytes_new, (unsigned long long)st.bytes_shipped,
           (unsigned long long)st.elapsed_ms);
    return 0;
}

static int cmd_list(struct backup_repo *r)
{
    struct backup_info *all;
    struct backup_error err = {0};
    size_t n;
    if (backup_list(r, &all, &n, &err) != 0) {
        return fail(&err);
    }
    printf("%-32s %-11s %-23s %10s %6s %12s  %s\n", "ID", "KIND", "CREATED", "RAFT_INDEX", "FILES",
           "SIZE_MB", "PARENT");
    for (size_t i = 0; i < n; i++) {
        char when[40];
        fmt_time(all[i].created_ms, when, sizeof when);
        printf("%-32s %-11s %-23s %10llu %6u %12.1f  %s\n", all[i].id,
               all[i].incremental ? "incremental" : "full", when,
               (unsigned long long)all[i].raft_index, all[i].n_files,
               (double)all[i].size_bytes / 1e6, all[i].incremental ? all[i].parent_id : "-");
    }
    free(all);
    return 0;
}

static int cmd_show(const struct args *a, struct backup_repo *r)
{
    struct backup_info info;
    struct backup_file *files;
    struct backup_error err = {0};
    size_t n;
    char when[40];
    if (backup_show(r, a->pos, &info, &files, &n, &err) != 0) {
        return fail(&err);
    }
    fmt_time(info.created_ms, when, sizeof when);
    printf("id:          %s\nkind:        %s\nparent:      %s\ncreated:     %s\n"
           "raft index:  %llu\nrepo id:     %s\nfiles:       %u (%.1f MB)\nchain:       ok\n",
           info.id, info.incremental ? "incremental" : "full",
           info.incremental ? info.parent_id : "-", when, (unsigned long long)info.raft_index,
           backup_repo_id(r), info.n_files, (double)info.size_bytes / 1e6);
    for (size_t i = 0; i < n; i++) {
        char hex[65];
        for (int j = 0; j < 32; j++) {
            snprintf(hex + 2 * j, 3, "%02x", files[i].object_id[j]);
        }
        printf("  %-32s %14llu  %s\n", files[i].name, (unsigned long long)files[i].size_bytes, hex);
    }
    free(files);
    return 0;
}

static void report_problem(void *data, const char *line)
{
    (void)data;
    fprintf(stderr, "\nwaihu-backup: problem: %s\n", line);
}

static int cmd_verify(const struct args *a, struct backup_repo *r, struct progress *pg)
{
    struct backup_stats st;
    struct backup_error err = {0};
    int rv = backup_verify(r, a->sample_pct, report_problem, NULL,
                           a->progress ? progress_show : NULL, pg, &st, &err);
    progress_end(pg);
    if (rv != 0) {
        return fail(&err);
    }
    printf("verify ok: %u objects (%.1f MB) decrypted and checked, %.2f s\n", st.objects_checked,
           (double)st.bytes_read / 1e6, (double)st.elapsed_ms / 1000.0);
    return 0;
}

static int cmd_restore(const struct args *a, struct backup_repo *r, struct progress *pg)
{
    struct backup_stats st;
    struct backup_error err = {0};
    int rv = backup_restore(r, a->pos, a->to, a->progress ? progress_show : NULL, pg, &st, &err);
    progress_end(pg);
    if (rv != 0) {
        return fail(&err);
    }
    double s = (double)st.elapsed_ms / 1000.0;
    printf("restored %u files (%.1f MB) into %s, every object checked, %.2f s, %.1f MB/s\n",
           st.files, (double)st.bytes_read / 1e6, a->to, s,
           s > 0 ? (double)st.bytes_read / 1e6 / s : 0.0);
    return 0;
}

static int cmd_prune(const struct args *a, struct backup_repo *r)
{
    struct backup_prune_stats st;
    struct backup_error err = {0};
    if (backup_prune(r, (unsigned)a->keep, &st, &err) != 0) {
        return fail(&err);
    }
    printf("prune: %u backups kept, %u deleted, %u objects (%.1f MB) deleted\n", st.backups_kept,
           st.backups_deleted, st.objects_deleted, (double)st.bytes_deleted / 1e6);
    return 0;
}

static int cmd_key_rotate(const struct args *a, struct backup_repo *r)
{
    struct backup_error err = {0};
    if (backup_repo_rotate_key(r, a->new_key_file, &err) != 0) {
        return fail(&err);
    }
    printf("key rotated: the repository now opens with %s only (no object rewritten)\n",
           a->new_key_file);
    return 0;
}

/* ---- arguments ---- */

static bool parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == '-') {
        return false;
    }
    *out = strtoull(s, &end, 10);
    return *end == '\0';
}

static int parse(int argc, char **argv, struct args *a)
{
    a->repo = getenv("WAIHU_BACKUP_REPO");
    a->key_file = getenv("WAIHU_BACKUP_KEY_FILE");
    a->sample_pct = 100;
    a->keep = -1;
    a->progress = isatty(2);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = NULL;
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (strcmp(s, "--no-progress") == 0) {
            a->progress = false;
            continue;
        } else if (strncmp(s, "--", 2) != 0) {
            const char **pos =
                a->cmd == NULL ? &a->cmd
                : a->sub == NULL && (strcmp(a->cmd, "backup") == 0 || strcmp(a->cmd, "key") == 0)
                    ? &a->sub
                    : &a->pos;
            if (*pos != NULL) {
                return usage("too many arguments");
            }
            *pos = s;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "waihu-backup: %s needs a value\n", s);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(s, "--repo") == 0) {
            slot = &a->repo;
        } else if (strcmp(s, "--key-file") == 0) {
            slot = &a->key_file;
        } else if (strcmp(s, "--from") == 0) {
            slot = &a->from;
        } else if (strcmp(s, "--to") == 0) {
            slot = &a->to;
        } else if (strcmp(s, "--parent") == 0) {
            slot = &a->parent;
        } else if (strcmp(s, "--new-key-file") == 0) {
            slot = &a->new_key_file;
        } else if (strcmp(s, "--index") == 0) {
            if (!parse_u64(v, &a->index)) {
                return usage("--index wants a non-negative integer");
            }
        } else if (strcmp(s, "--keep") == 0) {
            unsigned long long k;
            if (!parse_u64(v, &k) || k == 0 || k > 1000000) {
                return usage("--keep wants an integer from 1");
            }
            a->keep = (long)k;
        } else if (strcmp(s, "--sample") == 0) {
            char *end;
            a->sample_pct = strtod(v, &end);
            if (*end != '\0' || !(a->sample_pct > 0 && a->sample_pct <= 100)) {
                return usage("--sample wants a percentage in (0, 100]");
            }
        } else {
            fprintf(stderr, "waihu-backup: unknown option %s\n", s);
            return EXIT_USAGE;
        }
        if (slot != NULL) {
            *slot = v;
        }
    }
    return 0;
}

static int check_args(const struct args *a)
{
    if (a->cmd == NULL) {
        return usage(NULL);
    }
    if (a->repo == NULL || a->key_file == NULL) {
        return usage("--repo and --key-file are required");
    }
    const char *c = a->cmd;
    if (strcmp(c, "backup") == 0) {
        if (a->sub == NULL || (strcmp(a->sub, "full") != 0 && strcmp(a->sub, "incremental") != 0)) {
            return usage("backup full|incremental");
        }
        if (a->from == NULL) {
            return usage("backup needs --from CHECKPOINT_DIR");
        }
        if (a->parent != NULL && strcmp(a->sub, "full") == 0) {
            return usage("--parent is for incrementals");
        }
    } else if (strcmp(c, "show") == 0 && a->pos == NULL) {
        return usage("show ID");
    } else if (strcmp(c, "restore") == 0 && (a->pos == NULL || a->to == NULL)) {
        return usage("restore ID --to DIR");
    } else if (strcmp(c, "prune") == 0 && a->keep < 1) {
        return usage("prune --keep N");
    } else if (strcmp(c, "key") == 0 &&
               (a->sub == NULL || strcmp(a->sub, "rotate") != 0 || a->new_key_file == NULL)) {
        return usage("key rotate --new-key-file F");
    } else if (strcmp(c, "init") != 0 && strcmp(c, "list") != 0 && strcmp(c, "show") != 0 &&
               strcmp(c, "verify") != 0 && strcmp(c, "restore") != 0 && strcmp(c, "prune") != 0 &&
               strcmp(c, "key") != 0) {
        fprintf(stderr, "waihu-backup: unknown command %s\n", c);
        return usage(NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    struct backup_repo *r = NULL;
    struct progress pg = {.start_ms = clock_now_ms()};
    int rv = parse(argc, argv, &a);
    if (rv != 0 || (rv = check_args(&a)) != 0) {
        return rv;
    }
    if (strcmp(a.cmd, "init") == 0) {
        return cmd_init(&a);
    }
    if ((rv = open_repo(&a, &r)) != 0) {
        return rv;
    }
    if (strcmp(a.cmd, "backup") == 0) {
        rv = cmd_backup(&a, r, &pg);
    } else if (strcmp(a.cmd, "list") == 0) {
        rv = cmd_list(r);
    } else if (strcmp(a.cmd, "show") == 0) {
        rv = cmd_show(&a, r);
    } else if (strcmp(a.cmd, "verify") == 0) {
        rv = cmd_verify(&a, r, &pg);
    } else if (strcmp(a.cmd, "restore") == 0) {
        rv = cmd_restore(&a, r, &pg);
    } else if (strcmp(a.cmd, "prune") == 0) {
        rv = cmd_prune(&a, r);
    } else {
        rv = cmd_key_rotate(&a, r);
    }
    backup_repo_close(r);
    return rv;
}
