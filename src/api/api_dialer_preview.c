/* Preview dialing (docs/campaigns.md "Preview"): the node keeps a few leads of a preview
 * campaign leased for its agents; an agent asks for one, reads the customer, and calls
 * it or skips it. The call is an attempt like any other (committed with the FSM's
 * conditions before the INVITE), bridged to that agent rather than one picked at answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_dialer_internal.h"

#define OFFER_SPARE 1 /* leads leased beyond one per agent here */

static unsigned offers_of(struct api_dialer *d, struct dcampaign *dc)
{
    unsigned n = 0;
    for (struct doffer *o = d->offers; o != NULL; o = o->next) {
        n += o->dc == dc;
    }
    return n;
}

void dialer_preview_run(struct api_dialer *d, struct dcampaign *dc, unsigned agents_here)
{
    if (agents_here == 0) {
        dialer_set_reason(dc, "no agent of the campaign is registered and ready on this node");
        return;
    }
    unsigned offered = offers_of(d, dc), want = agents_here + OFFER_SPARE;
    want = want > offered ? want - offered : 0;
    want = want > POOL_MAX ? POOL_MAX : want;
    if (dc->n_pool < want) {
        dialer_take_leases(dc, want - dc->n_pool);
    }
    if (dc->n_pool > 0 || offered > 0) {
        dialer_set_reason(dc, "%s", ""); /* leads wait for the agents' decisions */
    }
}

static void offer_unlink(struct api_dialer *d, struct doffer *o)
{
    struct doffer **pp = &d->offers;
    while (*pp != NULL && *pp != o) {
        pp = &(*pp)->next;
    }
    if (*pp == o) {
        *pp = o->next;
    }
}

void dialer_preview_expire(struct api_dialer *d)
{
    int64_t wall = clock_wall_ms();
    for (struct doffer *o = d->offers, *next; o != NULL; o = next) {
        next = o->next;
        bool running = o->dc->seen && strcmp(o->dc->c->state, "running") == 0;
        if (!running || o->lead.lease_until - wall < DRIFT_MARGIN_MS) {
            LOG_I("dialer", "campaign %llu: agent %s's preview of customer %llu given back (%s)",
                  (unsigned long long)o->dc->id, o->agent, (unsigned long long)o->lead.customer,
                  running ? "not decided in time" : "campaign not running");
            dialer_release_lead(o->dc, &o->lead, 0, NULL);
            offer_unlink(d, o);
            free(o);
        }
    }
}

static bool campaign_has_agent(const struct dcampaign *dc, const char *agent)
{
    for (size_t i = 0; i < dc->n_agents; i++) {
        if (strcmp(dc->agents[i].name, agent) == 0) {
            return true;
        }
    }
    return false;
}

static struct doffer *offer_of(struct api_dialer *d, const char *agent)
{
    for (struct doffer *o = d->offers; o != NULL; o = o->next) {
        if (strcmp(o->agent, agent) == 0) {
            return o;
        }
    }
    return NULL;
}

int api_dialer_preview_offer(struct api *a, const char *agent, struct api_preview *out,
                             const char **why)
{
    struct api_dialer *d = a->dialer;
    if (d == NULL || !telephony_agent_registered(d->t, agent)) {
        *why = "the agent's softphone is not registered on this node: preview from its node";
        return WAIHU_ENOTFOUND;
    }
    struct doffer *o = offer_of(d, agent);
    bool in_campaign = false;
    for (struct dcampaign *dc = d->campaigns; o == NULL && dc != NULL; dc = dc->next) {
        if (!dc->seen || strcmp(dc->c->mode, "preview") != 0 ||
            strcmp(dc->c->state, "running") != 0 || !campaign_has_agent(dc, agent)) {
            continue;
        }
        in_campaign = true;
        if (dc->n_pool == 0) {
            continue;
        }
        o = calloc(1, sizeof *o);
        if (o == NULL) {
            waihu_fatal("dialer", "out of memory");
        }
        snprintf(o->agent, sizeof o->agent, "%s", agent);
        o->dc = dc;
        o->lead = dc->pool[--dc->n_pool];
        o->next = d->offers;
        d->offers = o;
    }
    if (o == NULL) {
        *why = in_campaign ? "no lead is ready now: ask again in a moment"
                           : "the agent is in no running preview campaign";
        return WAIHU_ENOTFOUND;
    }
    /* The offer is given back DRIFT_MARGIN_MS before its lease ends: that is its end. */
    *out = (struct api_preview){o->dc->id, o->lead.customer,
                                o->lead.lease_until - DRIFT_MARGIN_MS};
    return 0;
}

static struct doffer *offer_take(struct api_dialer *d, const char *agent, uint64_t campaign,
                                 uint64_t customer)
{
    struct doffer *o = d ? offer_of(d, agent) : NULL;
    if (o == NULL || o->dc->id != campaign || o->lead.customer != customer) {
        return NULL;
    }
    offer_unlink(d, o);
    return o;
}

int api_dialer_preview_call(struct api *a, const char *agent, uint64_t campaign,
                            uint64_t customer)
{
    struct doffer *o = offer_take(a->dialer, agent, campaign, customer);
    if (o == NULL) {
        return WAIHU_ENOTFOUND;
    }
    dialer_attempt(o->dc, &o->lead, agent);
    free(o);
    return 0;
}

int api_dialer_preview_skip(struct api *a, const char *agent, uint64_t campaign,
                            uint64_t customer)
{
    struct doffer *o = offer_take(a->dialer, agent, campaign, customer);
    if (o == NULL) {
        return WAIHU_ENOTFOUND;
    }
    int64_t later = clock_wall_ms() + (int64_t)o->dc->c->retry_after_s * 1000;
    dialer_release_lead(o->dc, &o->lead, later, "skipped");
    free(o);
    return 0;
}

bool api_dialer_offers(struct api *a, const char *agent, uint64_t customer)
{
    struct doffer *o = a->dialer ? offer_of(a->dialer, agent) : NULL;
    return o != NULL && o->lead.customer == customer;
}
