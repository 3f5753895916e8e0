/* Entry points of the command groups; each lives in cmd_<group>.c. */
#ifndef WAIHUCTL_CMDS_H
#define WAIHUCTL_CMDS_H

#include "ctl.h"

int cmd_cluster_status(struct ctl *ctl, int argc, char **argv);

int cmd_member_list(struct ctl *ctl, int argc, char **argv);
int cmd_member_add(struct ctl *ctl, int argc, char **argv);
int cmd_member_remove(struct ctl *ctl, int argc, char **argv);
int cmd_member_promote(struct ctl *ctl, int argc, char **argv);
int cmd_member_demote(struct ctl *ctl, int argc, char **argv);

int cmd_leader_transfer(struct ctl *ctl, int argc, char **argv);

int cmd_settings_get(struct ctl *ctl, int argc, char **argv);
int cmd_settings_put(struct ctl *ctl, int argc, char **argv);
int cmd_settings_delete(struct ctl *ctl, int argc, char **argv);
int cmd_settings_list(struct ctl *ctl, int argc, char **argv);

int cmd_drill_dc_failover(struct ctl *ctl, int argc, char **argv);

int cmd_import_start(struct ctl *ctl, int argc, char **argv);
int cmd_import_status(struct ctl *ctl, int argc, char **argv);

#endif
