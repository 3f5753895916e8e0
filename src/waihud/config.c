#include <errno.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Where the console's files are when nothing says otherwise: the source tree's web/ (set
 * by CMake, so a waihud run from the build tree serves it; packagers set their own). */
#ifndef WAIHU_WEB_DIR
#define WAIHU_WEB_DIR ""
#endif

enum opt_type { OPT_U64, OPT_UINT, OPT_STR };

struct opt {
    const char *path; /* in the file */
    const char *flag; /* on the command line, or NULL */
    enum opt_type type;
    size_t offset;
    size_t size;      /* strings: buffer size */
    const char *def;
    unsigned long long min, max;
    const char *help;
};

#define CC(field) offsetof(struct waihud_config, cluster.field)
#define SELF(field) offsetof(struct waihud_config, cluster.self.field)
#define SZ(field) sizeof(((struct waihud_config *)0)->field)

static const struct opt opts[] = {
    {"node.id", "--id", OPT_U64, SELF(id), 0, NULL, 1, (1ULL << 62), "raft server id"},
    {"node.name", "--name", OPT_STR, SELF(name), SZ(cluster.self.name), "", 0, 0, "node name"},
    {"node.dc", "--dc", OPT_STR, SELF(dc), SZ(cluster.self.dc), "dc1", 0, 0, "datacenter label"},
    {"node.data_dir", "--data-dir", OPT_STR, CC(data_dir), SZ(cluster.data_dir), NULL, 0, 0,
     "data directory"},
    {"node.raft_address", "--raft-address", OPT_STR, SELF(raft_address),
     SZ(cluster.self.raft_address), NULL, 0, 0, "raft host:port"},
    {"node.api_address", "--api-address", OPT_STR, SELF(api_address),
     SZ(cluster.self.api_address), NULL, 0, 0, "HTTP API host:port"},
    {"node.forward_address", "--forward-address", OPT_STR, SELF(forward_address),
     SZ(cluster.self.forward_address), NULL, 0, 0, "forwarding host:port"},
    {"cluster.name", "--cluster-name", OPT_STR, offsetof(struct waihud_config, cluster_name),
     SZ(cluster_name), "waihu", 0, 0, "cluster name, checked against the data dir"},
    {"cluster.election_timeout_ms", "--election-timeout-ms", OPT_UINT, CC(election_timeout_ms),
     0, "300", 100, 60000, "raft election timeout (measured: 0.5 s leader failover)"},
    {"cluster.heartbeat_timeout_ms", "--heartbeat-timeout-ms", OPT_UINT,
     CC(heartbeat_timeout_ms), 0, "50", 10, 10000, "raft heartbeat interval"},
    {"cluster.snapshot_threshold", "--snapshot-threshold", OPT_UINT, CC(snapshot_threshold), 0,
     "100000", 16, 100000000, "entries between snapshots"},
    {"cluster.snapshot_trailing", "--snapshot-trailing", OPT_UINT, CC(snapshot_trailing), 0,
     "20000", 4, 100000000, "entries kept after a snapshot"},
    {"cluster.snapshot_inline_max_bytes", "--snapshot-inline-max-bytes", OPT_U64,
     CC(snapshot_inline_max_bytes), 0, "67108864", 1, (1ULL << 62),
     "larger states snapshot as a RocksDB checkpoint fetched by followers"},
    {"cluster.tls_cert", "--tls-cert", OPT_STR, CC(tls_cert), SZ(cluster.tls_cert), "", 0, 0,
     "PEM cert of this node for TLS between nodes (with tls_key, tls_ca)"},
    {"cluster.tls_key", "--tls-key", OPT_STR, CC(tls_key), SZ(cluster.tls_key), "", 0, 0,
     "PEM private key of tls_cert"},
    {"cluster.tls_ca", "--tls-ca", OPT_STR, CC(tls_ca), SZ(cluster.tls_ca), "", 0, 0,
     "PEM cluster CA: peers must present a cert it signed"},
    {"node.min_free_bytes", "--min-free-bytes", OPT_U64,
     offsetof(struct waihud_config, min_free_bytes), 0, "67108864", 1, (1ULL << 50),
     "stop cleanly when the data dir's disk has less free space"},
    {"api.bootstrap_token_file", "--bootstrap-token-file", OPT_STR,
     offsetof(struct waihud_config, bootstrap_token_file), SZ(bootstrap_token_file), "", 0, 0,
     "file with the bootstrap token (cluster administration, tenants, first users)"},
    {"api.import_dir", "--import-dir", OPT_STR, offsetof(struct waihud_config, import_dir),
     SZ(import_dir), "", 0, 0, "directory of CSV files that POST /v1/imports may read"},
    {"api.web_dir", "--web-dir", OPT_STR, offsetof(struct waihud_config, web_dir), SZ(web_dir),
     WAIHU_WEB_DIR, 0, 0, "the web console's files, served at / and /console/; empty: none"},
    {"api.rate_limit_per_s", "--rate-limit-per-s", OPT_UINT,
     offsetof(struct waihud_config, rate_limit_per_s), 0, "200", 1, 1000000,
     "requests per second allowed per API token (429 above)"},
    {"api.rate_limit_burst", "--rate-limit-burst", OPT_UINT,
     offsetof(struct waihud_config, rate_limit_burst), 0, "400", 1, 1000000,
     "burst of requests allowed per API token"},
    {"api.webhook_allow_private", "--webhook-allow-private", OPT_UINT,
     offsetof(struct waihud_config, webhook_allow_private), 0, "0", 0, 1,
     "1: webhooks may go to loopback/private addresses (a CRM inside this network)"},
    {"customer.master_key_file", "--master-key-file", OPT_STR,
     offsetof(struct waihud_config, master_key_file), SZ(master_key_file), "", 0, 0,
     "file with the 32-byte master key (64 hex digits) wrapping customer data keys"},
    {"telephony.sip_bind", "--sip-bind", OPT_STR, offsetof(struct waihud_config, sip_bind),
     SZ(sip_bind), "", 0, 0, "SIP (UDP) ip:port for agents' softphones and trunks; empty: no calls"},
    {"telephony.rtp_ports", "--rtp-ports", OPT_STR, offsetof(struct waihud_config, rtp_ports),
     SZ(rtp_ports), "20000-29999", 0, 0, "RTP port range MIN-MAX (even ports used)"},
    {"telephony.trunk", "--trunk", OPT_STR, offsetof(struct waihud_config, trunk), SZ(trunk),
     "", 0, 0, "carrier host:port every call goes to"},
    {"telephony.trunks_file", "--trunks-file", OPT_STR,
     offsetof(struct waihud_config, trunks_file), SZ(trunks_file), "", 0, 0,
     "trunk set JSON (docs/trunks.md): weights, limits, caller IDs, failover; instead of trunk"},
    {"telephony.caller_id", "--caller-id", OPT_STR, offsetof(struct waihud_config, caller_id),
     SZ(caller_id), "", 0, 0, "E.164 caller ID presented to the carrier"},
    {"telephony.recordings_dir", "--recordings-dir", OPT_STR,
     offsetof(struct waihud_config, recordings_dir), SZ(recordings_dir), "", 0, 0,
     "directory of encrypted call recordings; empty: calls are not recorded"},
    {"telephony.carrier_timeout_ms", "--carrier-timeout-ms", OPT_UINT,
     offsetof(struct waihud_config, carrier_timeout_ms), 0, "30000", 1000, 600000,
     "ring time before a call counts as not answered"},
    {"telephony.rtp_timeout_ms", "--rtp-timeout-ms", OPT_UINT,
     offsetof(struct waihud_config, rtp_timeout_ms), 0, "10000", 500, 600000,
     "an answered leg silent (no RTP) this long ends the call"},
    {"telephony.amd", "--amd", OPT_UINT, offsetof(struct waihud_config, amd), 0, "0", 0, 1,
     "1: answering-machine detection before an agent is called"},
    {"speech.enabled", "--speech-enabled", OPT_UINT, offsetof(struct waihud_config, speech_enabled),
     0, "1", 0, 1,
     "1: analyse the recordings held here (keywords, score); idle if the model cannot load"},
    {"speech.workers", "--speech-workers", OPT_UINT, offsetof(struct waihud_config, speech_workers),
     0, "1", 1, 16, "concurrent analyses (uv pool threads, ~37 MB model each)"},
    {"speech.hmm_dir", "--speech-hmm-dir", OPT_STR, offsetof(struct waihud_config, speech_hmm_dir),
     SZ(speech_hmm_dir), "", 0, 0, "pocketsphinx acoustic model directory; empty: Debian's en-us"},
    {"speech.dict", "--speech-dict", OPT_STR, offsetof(struct waihud_config, speech_dict),
     SZ(speech_dict), "", 0, 0, "pronunciation dictionary; empty: Debian's cmudict-en-us"},
    {"log.level", "--log-level", OPT_STR, offsetof(struct waihud_config, log_level),
     SZ(log_level), "info", 0, 0, "debug|info|warn|error"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

void waihud_config_usage(FILE *f)
{
    fprintf(f, "usage: waihud --config FILE [flags]\n\nflags (override the file):\n");
    fprintf(f, "  %-24s %s\n", "--config FILE", "configuration file (libconfig syntax)");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", opts[i].flag,
                 opts[i].type == OPT_STR ? "TEXT" : "N");
        fprintf(f, "  %-24s %s (file: %s%s%s)\n", left, opts[i].help, opts[i].path,
                opts[i].def ? ", default " : "", opts[i].def ? opts[i].def : "");
    }
    fprintf(f, "  %-24s %s\n", "--help", "this text");
}

/* Sets one option from text; where says where the text came from. */
static int set_opt(struct waihud_config *c, const struct opt *o, const char *text,
                   const char *where, char *errmsg)
{
    char *base = (char *)c + o->offset;
    if (o->type == OPT_STR) {
        if (strlen(text) >= o->size) {
            snprintf(errmsg, 512, "%s: %s: longer than %zu characters", where, o->path,
                     o->size - 1);
            return WAIHU_EINVAL;
        }
        memcpy(base, text, strlen(text) + 1);
        return 0;
    }
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || *text == '-' || v < o->min || v > o->max) {
        snprintf(errmsg, 512, "%s: %s: '%s' is not a whole number in %llu..%llu", where,
                 o->path, text, o->min, o->max);
        return WAIHU_EINVAL;
    }
    if (o->type == OPT_U64) {
        *(uint64_t *)(void *)base = v;
    } else {
        *(unsigned *)(void *)base = (unsigned)v;
    }
    return 0;
}

static const struct opt *find_opt_path(const char *path)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strcmp(opts[i].path, path) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static int setting_text(config_setting_t *s, char *buf, size_t cap)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING: snprintf(buf, cap, "%s", config_setting_get_string(s)); return 0;
    case CONFIG_TYPE_INT: snprintf(buf, cap, "%d", config_setting_get_int(s)); return 0;
    case CONFIG_TYPE_INT64:
        snprintf(buf, cap, "%lld", (long long)config_setting_get_int64(s));
        return 0;
    default: return -1;
    }
}

static int parse_member(config_setting_t *m, const char *file, struct cluster_member_conf *out,
                        char *errmsg)
{
    memset(out, 0, sizeof *out);
    int line = config_setting_source_line(m);
    long long id = 0;
    const char *s;
    if (!config_setting_lookup_int64(m, "id", &id) || id <= 0) {
        int iid;
        if (!config_setting_lookup_int(m, "id", &iid) || iid <= 0) {
            snprintf(errmsg, 512, "%s:%d: cluster.members: each member needs id > 0", file, line);
            return WAIHU_EINVAL;
        }
        id = iid;
    }
    out->id = (uint64_t)id;
    struct {
        const char *name;
        char *dst;
        size_t cap;
        bool required;
    } fields[] = {
        {"name", out->name, sizeof out->name, false},
        {"dc", out->dc, sizeof out->dc, false},
        {"raft_address", out->raft_address, sizeof out->raft_address, true},
        {"api_address", out->api_address, sizeof out->api_address, false},
        {"forward_address", out->forward_address, sizeof out->forward_address, false},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (config_setting_lookup_string(m, fields[i].name, &s)) {
            snprintf(fields[i].dst, fields[i].cap, "%s", s);
        } else if (fields[i].required) {
            snprintf(errmsg, 512, "%s:%d: cluster.members: member %lld has no %s", file, line,
                     id, fields[i].name);
            return WAIHU_EINVAL;
        }
    }
    out->role = CLUSTER_VOTER;
    if (config_setting_lookup_string(m, "role", &s) && cluster_role_parse(s, &out->role) != 0) {
        snprintf(errmsg, 512, "%s:%d: cluster.members: role '%s' is not voter, standby or spare",
                 file, line, s);
        return WAIHU_EINVAL;
    }
    return 0;
}

/* Every key in the file must be known: a typo must not silently fall back to a default. */
static int check_unknown(config_setting_t *group, const char *prefix, const char *file,
                         char *errmsg)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        char path[128];
        const char *name = config_setting_name(s);
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name ? name : "");
        if (strcmp(path, "cluster.members") == 0) {
            continue;
        }
        if (config_setting_is_group(s)) {
            int rv = check_unknown(s, path, file, errmsg);
            if (rv != 0) {
                return rv;
            }
        } else if (find_opt_path(path) == NULL) {
            snprintf(errmsg, 512, "%s:%d: %s: unknown key", file, config_setting_source_line(s),
                     path);
            return WAIHU_EINVAL;
        }
    }
    return 0;
}

/* TLS between nodes: all three files or none, each readable. Errors point at the line
 * of the key in the file when it is there. */
static int check_tls(const struct waihud_config *c, const char *file, char *errmsg)
{
    const struct {
        const char *key;
        const char *value;
    } keys[] = {{"cluster.tls_cert", c->cluster.tls_cert},
                {"cluster.tls_key", c->cluster.tls_key},
                {"cluster.tls_ca", c->cluster.tls_ca}};
    char where[3][520];
    int n_set = 0, any_set = -1, rv = 0;
    config_t cf;
    config_init(&cf);
    bool parsed = file != NULL && config_read_file(&cf, file);
    for (int i = 0; i < 3; i++) {
        config_setting_t *s = parsed ? config_lookup(&cf, keys[i].key) : NULL;
        if (s != NULL) {
            snprintf(where[i], sizeof where[i], "%s:%d", file, config_setting_source_line(s));
        } else {
            snprintf(where[i], sizeof where[i], "%s", file ? file : "command line");
        }
        if (keys[i].value[0] != '\0') {
            n_set++;
            any_set = any_set < 0 ? i : any_set;
        }
    }
    for (int i = 0; rv == 0 && n_set > 0 && i < 3; i++) {
        if (keys[i].value[0] == '\0') {
            snprintf(errmsg, 512, "%s: %s: missing (tls_cert, tls_key and tls_ca go together)",
                     where[any_set], keys[i].key);
            rv = WAIHU_EINVAL;
        } else if (access(keys[i].value, R_OK) != 0) {
            snprintf(errmsg, 512, "%s: %s: cannot read '%s': %s", where[i], keys[i].key,
                     keys[i].value, strerror(errno));
            rv = WAIHU_EINVAL;
        }
    }
    config_destroy(&cf);
    return rv;
}

static int load_file(const char *file, struct waihud_config *c, char *errmsg)
{
    config_t cf;
    config_init(&cf);
    int rv = 0;
    if (!config_read_file(&cf, file)) {
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO) {
            snprintf(errmsg, 512, "%s: cannot read the file", file);
        } else {
            snprintf(errmsg, 512, "%s:%d: %s", file, config_error_line(&cf),
                     config_error_text(&cf));
        }
        config_destroy(&cf);
        return WAIHU_EINVAL;
    }
    rv = check_unknown(config_root_setting(&cf), "", file, errmsg);
    for (size_t i = 0; rv == 0 && i < N_OPTS; i++) {
        config_setting_t *s = config_lookup(&cf, opts[i].path);
        char text[512], where[600];
        if (s == NULL) {
            continue;
        }
        snprintf(where, sizeof where, "%s:%d", file, config_setting_source_line(s));
        if (setting_text(s, text, sizeof text) != 0 ||
            (opts[i].type == OPT_STR && config_setting_type(s) != CONFIG_TYPE_STRING) ||
            (opts[i].type != OPT_STR && config_setting_type(s) == CONFIG_TYPE_STRING)) {
            snprintf(errmsg, 512, "%s: %s: expected a %s", where, opts[i].path,
                     opts[i].type == OPT_STR ? "string" : "number");
            rv = WAIHU_EINVAL;
            break;
        }
        rv = set_opt(c, &opts[i], text, where, errmsg);
    }
    config_setting_t *members = config_lookup(&cf, "cluster.members");
    if (rv == 0 && members != NULL) {
        int n = config_setting_length(members);
        if (!config_setting_is_list(members) && !config_setting_is_array(members)) {
            snprintf(errmsg, 512, "%s:%d: cluster.members: expected a list ( {...}, ... )", file,
                     config_setting_source_line(members));
            rv = WAIHU_EINVAL;
        } else if (n > CLUSTER_MAX_MEMBERS) {
            snprintf(errmsg, 512, "%s:%d: cluster.members: at most %d", file,
                     config_setting_source_line(members), CLUSTER_MAX_MEMBERS);
            rv = WAIHU_EINVAL;
        }
        for (int i = 0; rv == 0 && i < n; i++) {
            rv = parse_member(config_setting_get_elem(members, (unsigned)i), file,
                              &c->cluster.members[i], errmsg);
            c->cluster.n_members = i + 1;
        }
    }
    config_destroy(&cf);
    return rv;
}

static const struct opt *find_flag(const char *flag)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (strcmp(opts[i].flag, flag) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

int waihud_config_load(int argc, char **argv, struct waihud_config *c, char *errmsg)
{
    memset(c, 0, sizeof *c);
    const char *file = NULL;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].def != NULL) {
            set_opt(c, &opts[i], opts[i].def, "default", errmsg);
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            waihud_config_usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            file = argv[++i];
        }
    }
    if (file != NULL) {
        int rv = load_file(file, c, errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        const struct opt *o = find_flag(argv[i]);
        if (o == NULL) {
            snprintf(errmsg, 512, "%s: unknown flag (see --help)", argv[i]);
            return WAIHU_EINVAL;
        }
        if (i + 1 >= argc) {
            snprintf(errmsg, 512, "%s: needs a value", argv[i]);
            return WAIHU_EINVAL;
        }
        int rv = set_opt(c, o, argv[++i], o->flag, errmsg);
        if (rv != 0) {
            return rv;
        }
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *base = (const char *)c + opts[i].offset;
        bool missing = opts[i].type == OPT_STR ? base[0] == '\0'
                                               : opts[i].type == OPT_U64
                                                     ? *(const uint64_t *)(const void *)base == 0
                                                     : false;
        if (missing && opts[i].def == NULL) {
            snprintf(errmsg, 512, "%s: %s (%s) is required", file ? file : "command line",
                     opts[i].path, opts[i].flag);
            return WAIHU_EINVAL;
        }
    }
    const struct {
        const char *key;
        const char *value;
    } addrs[] = {{"node.raft_address", c->cluster.self.raft_address},
                 {"node.api_address", c->cluster.self.api_address},
                 {"node.forward_address", c->cluster.self.forward_address}};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct sockaddr_in sa;
        if (addr_parse_ipv4(addrs[i].value, &sa) != 0) {
            snprintf(errmsg, 512, "%s: %s: '%s' is not an IPv4 host:port", file ? file : "command line",
                     addrs[i].key, addrs[i].value);
            return WAIHU_EINVAL;
        }
    }
    if (c->cluster.self.name[0] == '\0') {
        snprintf(c->cluster.self.name, sizeof c->cluster.self.name, "n%llu",
                 (unsigned long long)c->cluster.self.id);
    }
    if (c->cluster.snapshot_trailing > c->cluster.snapshot_threshold * 4) {
        snprintf(errmsg, 512, "%s: cluster.snapshot_trailing is over 4x snapshot_threshold",
                 file ? file : "command line");
        return WAIHU_EINVAL;
    }
    /* Our own entry in the member list fills in what the node section left out. */
    for (int i = 0; i < c->cluster.n_members; i++) {
        struct cluster_member_conf *m = &c->cluster.members[i];
        if (m->id == c->cluster.self.id &&
            strcmp(m->raft_address, c->cluster.self.raft_address) != 0) {
            snprintf(errmsg, 512, "%s: member %llu has raft_address %s but node.raft_address is %s",
                     file ? file : "command line", (unsigned long long)m->id, m->raft_address,
                     c->cluster.self.raft_address);
            return WAIHU_EINVAL;
        }
    }
    return check_tls(c, file, errmsg);
}
