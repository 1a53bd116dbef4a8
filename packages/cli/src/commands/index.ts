import { audit } from './audit';
import { restoreBackup } from './backup';
import type { Command } from './command';
import { dashboard } from './dashboard';
import { explain } from './explain';
import { importFlags } from './import';
import { metrics } from './metrics';
import { plan } from './plan';
import { disableFeature, enableFeature, rollback, setStrategy, updateRollout } from './rollout';
import { status } from './status';
import { setPrerequisites, setRules, setSegment } from './targeting';
import { types } from './types';
import { addUser, blacklist, deleteUser, listUsers, removeUser, unblacklist } from './users';

/** Every command, in the order of the guide's CLI Reference, then the additions. */
export const COMMANDS: readonly Command[] = [
  addUser,
  removeUser,
  listUsers,
  deleteUser,
  blacklist,
  unblacklist,
  updateRollout,
  rollback,
  status,
  enableFeature,
  disableFeature,
  setStrategy,
  setRules,
  setPrerequisites,
  setSegment,
  plan,
  explain,
  audit,
  metrics,
  dashboard,
  importFlags,
  restoreBackup,
  types,
];

/** The command called `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
