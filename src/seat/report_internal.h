/* Private to src/seat/report*.c. */
#ifndef WAIHU_REPORT_INTERNAL_H
#define WAIHU_REPORT_INTERNAL_H

#include <assert.h>

#include "report.h"

struct report_cell {
    uint64_t tenant;
    uint64_t campaign;
    int32_t day;
    uint32_t agent; /* index into book->agents */
    struct report_counts counts;
};

enum { REPORT_SLOT_EMPTY = 0, REPORT_SLOT_USED, REPORT_SLOT_DEAD };

struct report_disp_entry {
    uint64_t tenant, node, call_id;
    uint32_t cell;
    uint8_t kind;
    uint8_t state;
};

struct report_book {
    int32_t utc_offset_min;
    /* agents' names, interned (open addressing: slots hold index + 1) */
    char **agents;
    size_t n_agents, agents_cap;
    uint32_t *agent_slots;
    size_t agent_slots_cap;
    /* cells, never removed until a clear */
    struct report_cell *cells;
    size_t n_cells, cells_cap;
    uint32_t *cell_slots;
    size_t cell_slots_cap;
    /* dispositions counted, so that a new one for the same call replaces it */
    struct report_disp_entry *disps;
    size_t disps_cap, disps_used, disps_dead;
};

uint64_t report_hash_str(const char *s);

#endif
