/**
 * The error of the firewall file parser and writer.
 *
 * @packageDocumentation
 */
import { ParseError } from '@corral/core';

/**
 * What was wrong with a firewall file:
 * - `encoding`: not UTF-8, a NUL or carriage return;
 * - `limit`: the file or a line is longer than the parser reads;
 * - `section`: an unknown or misplaced section header, a bad or repeated ipset/group name, a line outside any section;
 * - `option`: an unknown option or a bad option value;
 * - `rule`: a rule line that does not parse, or whose parts do not fit together (type, action, interface, protocol, ICMP type);
 * - `address`: a bad address, CIDR, range or address list;
 * - `port`: a bad port, port list or range;
 * - `macro`: an unknown macro, or a rule parameter that contradicts its macro;
 * - `reference`: an ipset, alias or security group that is not defined where it can be checked;
 * - `entry`: a bad ipset or alias entry (syntax, duplicate);
 * - `unwritable`: a document the writer cannot write back (writer only).
 */
export type FwErrorKind = 'encoding' | 'limit' | 'section' | 'option' | 'rule' | 'address' | 'port' | 'macro' | 'reference' | 'entry' | 'unwritable';

/**
 * A firewall file was refused. A core `ParseError` (code `CORRAL_ERR_PARSE`) whose message
 * reads `<file>:<line>: <what is wrong>`; `kind` classifies it, `line` is 1-based (absent for
 * whole-file problems).
 */
export class FwParseError extends ParseError {
  constructor(
    readonly kind: FwErrorKind,
    source: string,
    message: string,
    line?: number,
  ) {
    super(source, message, line);
  }
}
