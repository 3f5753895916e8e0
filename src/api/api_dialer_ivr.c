/* IVR campaigns and the 2-second rule's message (docs/campaigns.md "IVR"): the
 * campaign names prompts (api_prompts.c); each dialing node writes them as files once
 * and dials with them. A broadcast (no transfer digit) plays the message to whoever
 * answers and hangs up; with a transfer digit, a caller who presses it is put through to
 * a ready agent (paced like progressive dialing). A campaign's abandon_prompt is what a
 * live answer with no agent hears before the call ends. */
#include <stdio.h>
#include <string.h>

#include "api_dialer_internal.h"

#define BROADCAST_CALLS 8 /* a broadcast's calls at once per node */

static void resolve(struct dcampaign *dc, const char *name, char *path, size_t cap)
{
    path[0] = '\0';
    if (name == NULL || name[0] == '\0') {
        return;
    }
    int rv = api_prompt_file(dc->d->a, dc->tenant, name, path, cap);
    if (rv != 0) {
        path[0] = '\0';
        snprintf(dc->prompt_error, sizeof dc->prompt_error, "prompt %s cannot be played here: %s",
                 name, rv == WAIHU_ENOTFOUND ? "it was deleted" : waihu_strerror(rv));
        LOG_W("dialer", "campaign %llu: %s", (unsigned long long)dc->id, dc->prompt_error);
    }
}

void dialer_prompts_resolve(struct dcampaign *dc)
{
    dc->prompt_error[0] = '\0';
    resolve(dc, dc->c->ivr_prompt, dc->ivr_path, sizeof dc->ivr_path);
    resolve(dc, dc->c->abandon_prompt, dc->abandon_path, sizeof dc->abandon_path);
}

int dialer_dial(struct dcampaign *dc, const char *e164, const char *agent, uint64_t *call_id)
{
    char tenant[24];
    snprintf(tenant, sizeof tenant, "%llu", (unsigned long long)dc->tenant);
    const Campaign *c = dc->c;
    struct bridge_prompts p = {0};
    if (dc->ivr_path[0] != '\0') {
        p.prompt_path = dc->ivr_path;
        p.transfer_digit = c->ivr_transfer_digit[0];
        p.prompt_on_machine = c->ivr_on_machine;
    }
    if (dc->abandon_path[0] != '\0') {
        p.abandon_prompt_path = dc->abandon_path;
    }
    return telephony_dial_prompts(dc->d->t, e164, agent, tenant, &p, call_id);
}

void dialer_broadcast_run(struct api_dialer *d, struct dcampaign *dc)
{
    if (dc->ivr_path[0] == '\0') {
        dialer_set_reason(dc, "%s", dc->prompt_error[0] ? dc->prompt_error
                                                         : "the IVR prompt is not available");
        return;
    }
    unsigned in_flight = dc->committing;
    for (struct dcall *c = d->calls; c != NULL; c = c->next) {
        in_flight += c->dc == dc;
    }
    uint32_t headroom = telephony_headroom(d->t);
    if (headroom == 0) {
        dialer_set_reason(dc, "no trunk channel free (every trunk busy, down or at its CPS limit)");
        return;
    }
    unsigned room = in_flight < BROADCAST_CALLS ? BROADCAST_CALLS - in_flight : 0;
    if (headroom != UINT32_MAX && room > headroom) {
        room = headroom;
    }
    if (dc->n_pool < room + 2) {
        dialer_take_leases(dc, room + 4 > POOL_MAX ? POOL_MAX : room + 4);
    }
    if (room == 0) {
        return;
    }
    if (dc->n_pool == 0) {
        if (dc->scan_done && in_flight == 0) {
            dialer_idle_for_leads(dc);
        }
        return;
    }
    dialer_set_reason(dc, "%s", "");
    for (unsigned i = 0; i < room && dc->n_pool > 0; i++) {
        struct dlead dl = dc->pool[--dc->n_pool];
        dialer_attempt(dc, &dl, NULL);
    }
}
