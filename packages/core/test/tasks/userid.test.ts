/**
 * Task users are Proxmox user ids (pve-access-control's `verify_username` and `pve-tokenid`):
 * a table of accepted and refused users, through `encodeUpid` (which checks them with `checkUserid`).
 */
import test from 'ava';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeUpid } from '../../src/tasks/Upid.js';

const accepted: Array<{ description: string; input: string }> = [
  { description: 'root on the PAM realm', input: 'root@pam' },
  { description: 'a user of the PVE realm', input: 'alice@pve' },
  { description: 'an API token', input: 'root@pam!ci-token' },
  { description: 'a realm with digits, dots, dashes and underscores', input: 'bob@ad.example-1_x' },
  { description: "'@' and '!' inside the name (the realm starts after the last '@')", input: 'first.last@corp!x@ldap' },
  { description: 'non-ASCII letters in the name', input: 'jürgen@pve' },
  { description: 'a name of 60 characters (64 in all)', input: `${'a'.repeat(60)}@pve` },
];

const refused: Array<{ description: string; input: string; expected: RegExp }> = [
  { description: 'path traversal (the task log path would leave its directory)', input: 'x/../../tmp/p', expected: /expected 'name@realm'/ },
  { description: 'a slash in the name', input: 'a/b@pam', expected: /may not hold white space, ':', '\/'/ },
  { description: 'traversal before a realm', input: '../../../etc/x@pam', expected: /may not hold/ },
  { description: 'a colon (UPIDs are colon separated)', input: 'a:b@pam', expected: /may not hold/ },
  { description: 'a space', input: 'a b@pam', expected: /may not hold/ },
  { description: 'a NUL', input: 'a\0b@pam', expected: /may not hold/ },
  { description: 'a line feed', input: 'a\nb@pam', expected: /may not hold/ },
  { description: 'no realm', input: 'root', expected: /expected 'name@realm'/ },
  { description: 'an empty name', input: '@pam', expected: /expected 'name@realm'/ },
  { description: 'a one-letter realm', input: 'root@p', expected: /the realm must be/ },
  { description: 'a realm starting with a digit', input: 'root@1pam', expected: /the realm must be/ },
  { description: 'a slash in the realm', input: 'root@pam/..', expected: /the realm must be/ },
  { description: 'an empty token id', input: 'root@pam!', expected: /the token id must be/ },
  { description: 'a slash in the token id', input: 'root@pam!a/b', expected: /the token id must be/ },
  { description: 'longer than 64 characters', input: `${'a'.repeat(61)}@pve`, expected: /3 to 64 characters/ },
  { description: 'too short', input: 'a@', expected: /the realm must be|3 to 64/ },
];

for (const row of accepted) {
  test(`task user accepted: ${row.description}`, (t) => {
    t.regex(encodeUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'qmstart', id: '100', user: row.input }), /^UPID:pve1:/);
  });
}

for (const row of refused) {
  test(`task user refused: ${row.description}`, (t) => {
    const err = t.throws(() => encodeUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'qmstart', id: '100', user: row.input }), {
      instanceOf: InvalidArgumentError,
    });
    t.is(err.argument, 'user');
    t.regex(err.message, row.expected);
  });
}
