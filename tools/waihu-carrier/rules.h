/* What the simulated carrier does with a called number: fixed per-number rules, else a
 * draw from configured shares and distributions. Pure: no I/O but loading the file. */
#ifndef WAIHU_CARRIER_RULES_H
#define WAIHU_CARRIER_RULES_H

#include <stddef.h>
#include <stdint.h>

struct sim_audio;

enum outcome {
    OUTCOME_ANSWER = 0,   /* 200, plays the "human" prompt, hangs up after talk time */
    OUTCOME_HUMAN,        /* same as answer (explicit name for AMD tests) */
    OUTCOME_VOICEMAIL,    /* 200, plays greeting + beep, then silence until talk time */
    OUTCOME_BUSY,         /* 486 at once */
    OUTCOME_NO_ANSWER,    /* 180, then 480 after the ring time */
    OUTCOME_UNREACHABLE,  /* 404 at once */
    OUTCOME_REJECT,       /* any code given in the rule, after the ring time */
    OUTCOME_COUNT
};

const char *outcome_name(enum outcome o);
int outcome_parse(const char *name, enum outcome *out);
/* Final status the carrier sends for an outcome (200 for answered ones). */
int outcome_code(enum outcome o);

enum dist_kind { DIST_FIXED, DIST_UNIFORM, DIST_NORMAL, DIST_EXP };

struct dist {
    enum dist_kind kind;
    double a, b;          /* fixed: a; uniform: [a, b]; normal: mean a, sd b; exp: mean a */
    double min_ms, max_ms;/* clamp */
};

struct plan {
    enum outcome outcome;
    int code;
    uint32_t ring_ms;
    uint32_t talk_ms;
    char dtmf[16];       /* RFC 4733 digits the callee presses after answering ("": none) */
    uint32_t dtmf_at_ms; /* ...this long after the answer */
    const struct sim_audio *audio; /* the number's "wav", played instead of --human-wav;
                                      NULL = the default prompt (owned by the rules) */
};

struct rule {
    char number[48];
    struct plan plan;
    struct sim_audio *audio; /* owned: the rule's "wav" loaded, or NULL */
};

struct rules {
    struct rule *numbers;      /* sorted by number */
    size_t n_numbers;
    double share[OUTCOME_COUNT];  /* statistical mode, normalised to sum 1 */
    struct dist ring, talk;
    uint64_t rng;
};

/* Defaults: everything answers after 0-1 s of ringing and talks 2-5 s. */
void rules_init(struct rules *r, uint64_t seed);
/* Loads a JSON rules file (docs/sip.md). Returns 0 or -1 with "file: why" in err. */
int rules_load(struct rules *r, const char *path, char *err, size_t err_len);
void rules_free(struct rules *r);

/* Decides what happens to a call to number. */
void rules_plan(struct rules *r, const char *number, struct plan *out);

/* Samples a distribution (milliseconds). */
uint32_t dist_sample(const struct dist *d, uint64_t *rng);

#endif
