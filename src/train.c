/* train.c — placeholder until issue #5/#6 land: says so clearly. */
#include "tgmm/commands.h"
#include "tgmm/common.h"

int tgmm_cmd_train(const tgmm_cli *cli, const tgmm_config *cfg) {
  (void)cli; (void)cfg;
  tgmm_error0("'tgmm train' is not implemented yet (issues #5 and #6)");
  return TGMM_EUSER;
}
