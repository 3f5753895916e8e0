/* Prompts of a bridge call (docs/bridge.md "Prompts"): the IVR / voice-broadcast prompt
 * and its transfer digit, the message left on a machine, and the abandon message a live
 * answer hears when no agent is there for it. The media engine plays the files into the
 * carrier leg and reports start and end; this file turns those into moves of the call. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"

#define PLAY_IVR 1     /* media_play_config.id of each prompt */
#define PLAY_ABANDON 2
#define DEFAULT_WINDOW_MS 3000
#define MACHINE_SILENCE_MS 1000 /* a voicemail greeting and its beep are over */
#define MACHINE_WAIT_MS 30000

static int copy_path(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    if (!src[0] || strlen(src) >= cap) {
        return WAIHU_EINVAL;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

int bridge_prompt_setup(struct bridge_call *c, const struct bridge_dial *req)
{
    const struct bridge_prompts *p = &req->prompts;
    char digit = (char)toupper((unsigned char)p->transfer_digit);
    if ((digit && (!p->prompt_path || media_dtmf_digit_event(digit) < 0)) ||
        copy_path(c->prompt_path, sizeof c->prompt_path, p->prompt_path) ||
        copy_path(c->abandon_path, sizeof c->abandon_path, p->abandon_prompt_path)) {
        return WAIHU_EINVAL;
    }
    c->transfer_digit = digit;
    c->prompt_on_machine = p->prompt_path && p->prompt_on_machine;
    c->transfer_window_ms = p->transfer_window_ms ? p->transfer_window_ms : DEFAULT_WINDOW_MS;
    /* Loaded off the core loop from now, so that the answer finds them ready. */
    const char *paths[2] = {c->prompt_path, c->abandon_path};
    for (int i = 0; i < 2; i++) {
        int rv = paths[i][0] ? media_engine_prompt_preload(c->b->media, paths[i]) : 0;
        if (rv != 0) {
            LOG_W(BRIDGE_MOD, "prompt %s: %s", paths[i], waihu_strerror(rv));
        }
    }
    return 0;
}

const char *bridge_play_state_name(enum bridge_play_state s)
{
    switch (s) {
    case PLAY_STARTED:
    case PLAY_PARTIAL: return "partial";
    case PLAY_COMPLETE: return "complete";
    case PLAY_ERROR: return "error";
    case PLAY_NONE:
    case PLAY_REQUESTED: break;
    }
    return "none";
}

static void emit(struct bridge_call *c, const char *which, const char *detail)
{
    if (c->b->cfg.event_cb) {
        struct bridge_event ev = {.type = BRIDGE_EV_PROMPT, .id = c->id, .prompt = which,
                                  .detail = detail, .state = bridge_state_name(c->state)};
        c->b->cfg.event_cb(c->b, &ev, c->b->data);
    }
}

/* Plays the IVR prompt into the carrier leg (after the greeting for a machine). */
static void start_ivr(struct bridge_call *c, int machine)
{
    struct media_play_config pc = {.id = PLAY_IVR,
                                   .tail_ms = c->transfer_digit ? c->transfer_window_ms : 0};
    if (machine) {
        pc.after_silence_ms = MACHINE_SILENCE_MS;
        pc.max_wait_ms = MACHINE_WAIT_MS;
    }
    bridge_record(c);
    int rv = media_session_play(c->media, MEDIA_LEG_A, c->prompt_path, &pc);
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: prompt %s: %s", (unsigned long long)c->id, c->prompt_path,
              waihu_strerror(rv));
        c->ivr.state = PLAY_ERROR;
        bridge_end(c, "error", "prompt-error", BRIDGE_BY_LOCAL, 500);
        return;
    }
    c->ivr.state = PLAY_REQUESTED;
}

int bridge_prompt_on_human(struct bridge_call *c)
{
    if (!c->prompt_path[0]) {
        return 0;
    }
    if (bridge_move(c, BIN_PROMPT) == 0) {
        start_ivr(c, 0);
    }
    return 1;
}

int bridge_prompt_on_machine(struct bridge_call *c)
{
    if (!c->prompt_on_machine) {
        return 0;
    }
    if (bridge_move(c, BIN_PROMPT) == 0) {
        start_ivr(c, 1);
    }
    return 1;
}

void bridge_abandon(struct bridge_call *c, const char *end_reason, int status)
{
    if (!c->abandon_path[0] || !c->media || bridge_state_next(c->state, BIN_ABANDON) < 0) {
        bridge_end(c, "abandoned", end_reason, BRIDGE_BY_LOCAL, status);
        return;
    }
    if (bridge_move(c, BIN_ABANDON) != 0) {
        return;
    }
    c->abandon_reason = end_reason;
    c->abandon_status = status;
    bridge_record(c);
    struct media_play_config pc = {.id = PLAY_ABANDON};
    int rv = media_session_play(c->media, MEDIA_LEG_A, c->abandon_path, &pc);
    if (rv != 0) {
        LOG_W(BRIDGE_MOD, "call %llu: abandon message %s: %s", (unsigned long long)c->id,
              c->abandon_path, waihu_strerror(rv));
        c->abandon.state = PLAY_ERROR;
        bridge_end(c, "abandoned", end_reason, BRIDGE_BY_LOCAL, status);
        return;
    }
    c->abandon.state = PLAY_REQUESTED;
}

void bridge_prompt_on_dtmf(struct bridge_call *c, char digit)
{
    if (c->state != BST_PROMPTING) {
        return;
    }
    if (!c->ivr_digit) {
        c->ivr_digit = digit;
    }
    if (!c->transfer_digit || toupper((unsigned char)digit) != c->transfer_digit) {
        return;
    }
    media_session_play_stop(c->media, MEDIA_LEG_A); /* its ENDED (partial) comes later */
    c->want_agent_ms = clock_now_ms();
    LOG_I(BRIDGE_MOD, "call %llu: transfer digit %c %llu ms after the answer",
          (unsigned long long)c->id, digit,
          (unsigned long long)(c->want_agent_ms - c->leg[LEG_CARRIER].answer_ms));
    if (c->picked) {
        int got = bridge_pick(c, BST_PROMPTING);
        if (got < 0) {
            return;
        }
        if (got == 0) {
            bridge_abandon(c, "no-agent", 200);
            return;
        }
    }
    if (bridge_move(c, BIN_TRANSFER) == 0) {
        bridge_call_agent(c);
    }
}

/* ---- hanging up a moment after an abandon message ---- */

static void linger_arm(struct bridge *b);

static void on_linger(uv_timer_t *t)
{
    struct bridge *b = t->data;
    int64_t now = (int64_t)clock_now_ms();
    struct bridge_call *next;
    for (struct bridge_call *c = b->calls; c; c = next) {
        next = c->next;
        if (c->abandon_end_ms > 0 && c->abandon_end_ms <= now) {
            c->abandon_end_ms = 0;
            if (c->state == BST_ANNOUNCING) {
                bridge_end(c, "abandoned", c->abandon_reason, BRIDGE_BY_LOCAL,
                           c->abandon_status);
            }
        }
    }
    linger_arm(b);
}

/* Runs the timer at the earliest pending hang-up, if any. */
static void linger_arm(struct bridge *b)
{
    int64_t first = 0;
    for (struct bridge_call *c = b->calls; c; c = c->next) {
        if (c->abandon_end_ms > 0 && (first == 0 || c->abandon_end_ms < first)) {
            first = c->abandon_end_ms;
        }
    }
    if (first == 0) {
        return;
    }
    if (b->linger_timer == NULL) {
        b->linger_timer = malloc(sizeof *b->linger_timer);
        if (b->linger_timer == NULL) {
            waihu_fatal(BRIDGE_MOD, "out of memory");
        }
        uv_timer_init(b->loop, b->linger_timer);
        b->linger_timer->data = b;
    }
    int64_t now = (int64_t)clock_now_ms();
    uv_timer_start(b->linger_timer, on_linger, first > now ? (uint64_t)(first - now) : 0, 0);
}

static void linger_closed(uv_handle_t *h)
{
    free(h);
}

void bridge_prompt_stop(struct bridge *b)
{
    if (b->linger_timer != NULL) {
        uv_close((uv_handle_t *)b->linger_timer, linger_closed);
        b->linger_timer = NULL;
    }
}

void bridge_prompt_on_event(struct bridge_call *c, const struct media_event *ev)
{
    uint32_t id = ev->u.prompt.id;
    struct bridge_play *pl = id == PLAY_IVR ? &c->ivr : id == PLAY_ABANDON ? &c->abandon : NULL;
    const char *which = id == PLAY_IVR ? "ivr" : "abandon";
    if (!pl || ev->leg != MEDIA_LEG_A) {
        return;
    }
    if (ev->u.prompt.phase == MEDIA_PROMPT_STARTED) {
        pl->state = PLAY_STARTED;
        pl->start_ms = clock_now_ms();
        LOG_I(BRIDGE_MOD, "call %llu: %s prompt started %llu ms after the answer",
              (unsigned long long)c->id, which,
              (unsigned long long)(pl->start_ms - c->leg[LEG_CARRIER].answer_ms));
        emit(c, which, "started");
        return;
    }
    pl->played_ms = ev->u.prompt.played_ms;
    if (ev->u.prompt.err) {
        pl->state = PLAY_ERROR;
    } else if (ev->u.prompt.complete) {
        pl->state = PLAY_COMPLETE;
    } else {
        pl->state = pl->state == PLAY_REQUESTED ? PLAY_NONE : PLAY_PARTIAL;
    }
    emit(c, which, ev->u.prompt.err ? "error" : bridge_play_state_name(pl->state));
    if (pl == &c->ivr && c->state == BST_PROMPTING) {
        if (ev->u.prompt.err) {
            bridge_end(c, "error", "prompt-error", BRIDGE_BY_LOCAL, 500);
        } else {
            bridge_end(c, "played", "prompt-end", BRIDGE_BY_LOCAL, 200);
        }
    } else if (pl == &c->abandon && c->state == BST_ANNOUNCING && ev->u.prompt.complete) {
        /* The last packets are on their way and in the phone's jitter buffer: a BYE now
         * would cut the message's end. Hang up a moment later (bridge_route.c's tick). */
        c->abandon_end_ms = (int64_t)clock_now_ms() + BRIDGE_ABANDON_LINGER_MS;
        linger_arm(c->b);
    } else if (pl == &c->abandon && c->state == BST_ANNOUNCING) {
        bridge_end(c, "abandoned", c->abandon_reason, BRIDGE_BY_LOCAL, c->abandon_status);
    }
}
