/* The node's dialer, shared between its files (api_dialer.c: tick, campaigns, agents,
 * CDRs; api_dialer_leads.c: lead rows and leases; api_dialer_attempt.c: attempts). */
#ifndef WAIHU_API_DIALER_INTERNAL_H
#define WAIHU_API_DIALER_INTERNAL_H

#include "api_internal.h"
#include "campaign.h"
#include "pacing.h"
#include "telephony.h"

#define TICK_MS 200
#define LEASE_MS 30000         /* a leased lead not dialed by then goes back */
#define DIAL_LEASE_MS 60000    /* a lead being dialed; renewed while the call lasts */
#define DRIFT_MARGIN_MS 5000   /* clocks of two nodes differ by less than this */
#define POOL_MAX 64
#define AGENTS_MAX 500
#define AGENT_FAILED_REST_MS 10000 /* an agent whose leg failed is not picked again before */
#define LEAD_MAX_BYTES 256

struct dlead {
    uint64_t customer;
    uint8_t raw[LEAD_MAX_BYTES];
    size_t len;
    int64_t lease_until;
};

struct dagent {
    char name[64];
    bool busy;
    bool wrapping; /* free_at is the end of a wrap-up, which the agent may end earlier */
    int64_t free_at, idle_since;
};

struct dcampaign {
    struct api_dialer *d;
    uint64_t id, tenant;
    Campaign *c;
    uint8_t *raw;
    size_t raw_len;
    bool seen, running;
    struct pacing pacing;
    struct dlead pool[POOL_MAX];
    unsigned n_pool;
    bool leasing, scan_done;
    int64_t waiting_until; /* after a scan found nothing: the earliest retry, or 0 */
    char waiting_why[48];  /* and that lead's last result */
    uint8_t cursor[CAMPAIGN_KEY_BYTES];
    bool has_cursor;
    unsigned committing; /* attempts whose commit is in flight */
    struct dagent *agents;
    size_t n_agents;
    CampaignTally tally;
    /* The campaign's prompts as files here (api_dialer_ivr.c); "" = none, or why not. */
    char ivr_path[600], abandon_path[600], prompt_error[160];
    char reason[128], written_reason[128];
    bool tally_dirty, tally_writing;
    struct dcampaign *next;
};

struct dcall {
    uint64_t call_id;
    struct dcampaign *dc;
    uint64_t customer;
    char e164[PHONE_E164_SIZE];
    char agent[64];
    int64_t launched_ms, lease_until;
    uint8_t raw[LEAD_MAX_BYTES]; /* the lead as the attempt wrote it */
    size_t len;
    bool answered;
    struct dcall *next;
};

struct api_dialer {
    struct api *a;
    struct telephony *t;
    uint64_t node;
    uv_timer_t timer;
    struct dcampaign *campaigns;
    struct dcall *calls;
    struct doffer *offers; /* preview leads shown to agents */
    bool stopping, closed;
    unsigned outstanding; /* submits whose callback has not come yet */
};

/* A callback came back: false when the dialer is stopping (touch nothing else then). */
bool dialer_callback_back(struct api_dialer *d);
void dialer_set_reason(struct dcampaign *dc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* api_dialer_leads.c */
size_t dialer_pack_lead(const Lead *l, uint8_t out[LEAD_MAX_BYTES]);
/* Writes lead l conditioned on the row being old_raw (a lost race: another node owns it). */
void dialer_put_lead(struct api_dialer *d, uint64_t campaign, const Lead *l,
                     const uint8_t *old_raw, size_t old_len);
/* Gives a leased lead back (ready, not before next_at; why: last_result or NULL). */
void dialer_release_lead(struct dcampaign *dc, const struct dlead *dl, int64_t next_at,
                         const char *why);
void dialer_finish_lead(struct dcampaign *dc, const struct dlead *dl, const char *why);
/* Leases up to want more leads into dc's pool (one batch in flight at a time). */
void dialer_take_leases(struct dcampaign *dc, unsigned want);

/* api_dialer_attempt.c: commits the attempt on a leased lead, then dials; agent NULL:
 * the agent is picked at answer, else the call goes to that agent (preview). */
void dialer_attempt(struct dcampaign *dc, struct dlead *dl, const char *agent);

/* When every lead is done or waits: says so, with the earliest retry. */
void dialer_idle_for_leads(struct dcampaign *dc);

/* api_dialer_ivr.c: IVR and the 2-second rule's message. */
/* Writes the campaign's prompts as files of this node (once per change of the record). */
void dialer_prompts_resolve(struct dcampaign *dc);
/* A voice broadcast (IVR without a transfer digit): a few calls at a time, no agent. */
void dialer_broadcast_run(struct api_dialer *d, struct dcampaign *dc);
/* Places the committed call with the campaign's prompts. */
int dialer_dial(struct dcampaign *dc, const char *e164, const char *agent, uint64_t *call_id);

/* api_dialer_preview.c: leads offered to agents of preview campaigns. */
struct doffer {
    char agent[64];
    struct dcampaign *dc;
    struct dlead lead;
    struct doffer *next;
};
/* Keeps a few leads leased for the preview campaign's agents registered here. */
void dialer_preview_run(struct api_dialer *d, struct dcampaign *dc, unsigned agents_here);
/* Gives back offers that were not taken in time, or of campaigns no longer running. */
void dialer_preview_expire(struct api_dialer *d);

#endif
