/** An account named on the command line: the whole key, the key's prefix (what `keys list` shows), or the account's name. */
import type { AccountStore } from '../accounts/store.js';
import { CliError } from './errors.js';

/** The key hint kept per account is its first 6 characters; a longer prefix could not be checked. */
const HINT = 6;

export interface AccountRef {
  id: number;
  label: string;
}

export async function resolveAccount(store: AccountStore, ref: string): Promise<AccountRef> {
  if (/^[0-9a-f]{32}$/.test(ref)) {
    const acc = await store.findByKey(ref);
    if (!acc) throw new CliError('no live account has this key');
    return { id: acc.id, label: `${ref.slice(0, HINT)}…` };
  }
  const live = (await store.list()).filter((a) => a.revokedAt === null);
  const byName = live.filter((a) => a.name !== '' && a.name === ref);
  if (ref.length > HINT && byName.length === 0) {
    throw new CliError(`no live account is named ${JSON.stringify(ref)}, and a key prefix is at most ${HINT} characters (gridlens keys list shows them): give the name, the prefix or the whole key`);
  }
  const byPrefix = ref.length <= HINT && ref !== '' ? live.filter((a) => a.keyHint.startsWith(ref)) : [];
  const matches = [...new Map([...byName, ...byPrefix].map((a) => [a.id, a])).values()];
  if (matches.length === 0) throw new CliError(`no live account has the name or key prefix ${JSON.stringify(ref)} (gridlens keys list shows them)`);
  if (matches.length > 1) {
    const named = matches.map((a) => `id ${a.id} (${a.keyHint}…${a.name ? `, name ${JSON.stringify(a.name)}` : ''})`).join(', ');
    throw new CliError(`${JSON.stringify(ref)} is ambiguous: it matches ${matches.length} live accounts: ${named}; give a longer prefix, the name or the whole key`);
  }
  const a = matches[0]!;
  return { id: a.id, label: `${a.keyHint}…${a.name ? ` (${a.name})` : ''}` };
}
