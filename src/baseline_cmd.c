/* baseline_cmd.c — placeholder until issue #4 lands: says so clearly. */
#include "tgmm/commands.h"
#include "tgmm/common.h"

static int not_done(const char *name) {
  tgmm_error0("'tgmm %s' is not implemented yet (issue #4)", name);
  return TGMM_EUSER;
}
int tgmm_cmd_em(const tgmm_cli *cli, const tgmm_config *cfg) { (void)cli; (void)cfg; return not_done("em"); }
int tgmm_cmd_lloyd(const tgmm_cli *cli, const tgmm_config *cfg) { (void)cli; (void)cfg; return not_done("lloyd"); }
int tgmm_cmd_spectral(const tgmm_cli *cli, const tgmm_config *cfg) { (void)cli; (void)cfg; return not_done("spectral"); }
