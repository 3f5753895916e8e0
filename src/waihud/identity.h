#ifndef WAIHUD_IDENTITY_H
#define WAIHUD_IDENTITY_H

#include <stdint.h>

#include "common.h"

/* Creates <data_dir>/identity on first start; later starts must match it. */
int identity_check(const char *data_dir, const char *cluster_name, uint64_t node_id,
                   char *errmsg);

#endif
