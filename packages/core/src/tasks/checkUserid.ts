/**
 * Proxmox VE user ids, as pve-access-control checks them (`PVE::Auth::Plugin::verify_username`
 * and the `pve-tokenid` format): `name@realm`, or an API token `name@realm!tokenid`.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { excerpt } from '../formats/configText.js';

/** Longest `name@realm` Proxmox accepts. */
export const MAX_USERID_LENGTH = 64;

/** Realms and token ids: a letter, then at least one letter, digit, `.`, `-` or `_`. */
const REALM_OR_TOKEN = /^[A-Za-z][A-Za-z0-9._-]+$/;
/** What the name part may not hold: white space, `:`, `/` (Proxmox) and control characters. */
const NAME_FORBIDDEN = /[\s:/\p{Cc}]/u;

/**
 * Checks a task's user (the `user` field of a UPID, which also names its log file).
 *
 * Accepted, as Proxmox: `name@realm` of 3 to {@link MAX_USERID_LENGTH} characters where the
 * name has no white space, `:` or `/` (it may hold `@` and `!`; the realm starts after the
 * last `@`) and the realm is a letter followed by letters, digits, `.`, `-`, `_`; optionally
 * followed by `!tokenid` (same rule as the realm, at most 64 characters). Control characters
 * are refused too. The check is a scan, not a backtracking pattern.
 *
 * @throws InvalidArgumentError (`argument` = `argument`, default `user`) naming what is wrong.
 */
export function checkUserid(user: string, argument = 'user'): void {
  const fail = (why: string): never => {
    throw new InvalidArgumentError(argument, `invalid user '${excerpt(String(user))}': ${why}`);
  };
  if (typeof user !== 'string') fail('not a string');
  if (user.length > MAX_USERID_LENGTH * 2 + 1) fail('too long');
  const at = user.lastIndexOf('@');
  if (at <= 0) fail("expected 'name@realm' or 'name@realm!token'");
  const rest = user.slice(at + 1);
  const bang = rest.indexOf('!');
  const realm = bang < 0 ? rest : rest.slice(0, bang);
  const token = bang < 0 ? undefined : rest.slice(bang + 1);
  const userid = user.slice(0, at + 1 + realm.length);
  if (userid.length < 3 || userid.length > MAX_USERID_LENGTH) fail(`'name@realm' must be 3 to ${MAX_USERID_LENGTH} characters long`);
  if (NAME_FORBIDDEN.test(user.slice(0, at))) fail("the name may not hold white space, ':', '/' or control characters");
  if (!REALM_OR_TOKEN.test(realm)) fail('the realm must be a letter followed by letters, digits, ., - or _');
  if (token !== undefined && (!REALM_OR_TOKEN.test(token) || token.length > 64)) {
    fail('the token id must be a letter followed by letters, digits, ., - or _ (at most 64 characters)');
  }
}
