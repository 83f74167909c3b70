/**
 * The part of nftables' JSON schema (`nft -j`, libnftables-json(5), schema version 1) that the
 * compiler writes and the backend reads back. Only what Corral uses is typed.
 *
 * @packageDocumentation
 */

/** Address families of the tables Corral installs. */
export type NftFamily = 'inet' | 'bridge';

/** A verdict statement (`accept`, `drop`, `return`, `jump`, `goto`). */
export type NftVerdict =
  | { readonly accept: null }
  | { readonly drop: null }
  | { readonly return: null }
  | { readonly continue: null }
  | { readonly jump: { readonly target: string } }
  | { readonly goto: { readonly target: string } };

/** An expression: a value, a field, or an operation on them. */
export type NftExpression =
  | string
  | number
  | boolean
  | readonly NftExpression[]
  | { readonly meta: { readonly key: string } }
  | { readonly ct: { readonly key: string } }
  | { readonly payload: { readonly protocol: string; readonly field: string } }
  | { readonly prefix: { readonly addr: string; readonly len: number } }
  | { readonly range: readonly [NftExpression, NftExpression] }
  | { readonly set: readonly NftExpression[] }
  | { readonly map: { readonly key: NftExpression; readonly data: NftExpression } }
  | { readonly '&': readonly [NftExpression, NftExpression] }
  | { readonly '|': readonly [NftExpression, NftExpression] }
  | NftVerdict;

/** A statement of a rule. */
export type NftStatement =
  | { readonly match: { readonly op: '==' | '!=' | 'in'; readonly left: NftExpression; readonly right: NftExpression } }
  | { readonly mangle: { readonly key: NftExpression; readonly value: NftExpression } }
  | { readonly vmap: { readonly key: NftExpression; readonly data: NftExpression } }
  | { readonly log: { readonly prefix?: string; readonly group?: number } }
  | { readonly reject: { readonly type?: 'tcp reset' | 'icmpx' | 'icmp' | 'icmpv6'; readonly expr?: string } | null }
  | { readonly counter: null }
  | NftVerdict;

/** A table object. */
export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
}

/** A chain object; base chains carry `type`, `hook`, `prio` and `policy`. */
export interface NftChain {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly type?: 'filter';
  readonly hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly prio?: number;
  readonly policy?: 'accept' | 'drop';
}

/** A rule object. */
export interface NftRule {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly expr: readonly NftStatement[];
  readonly comment?: string;
}

/** A set (no `map`) or map (with `map`, the data type) object. */
export interface NftSet {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly type: string;
  readonly map?: string;
  readonly flags?: readonly ('interval' | 'constant')[];
  readonly elem?: readonly NftExpression[];
}

/** Elements added to or deleted from a set or map (`add element`). */
export interface NftElement {
  readonly family: NftFamily;
  readonly table: string;
  readonly name: string;
  readonly elem: readonly NftExpression[];
}

/** One object of a command. */
export type NftObject =
  | { readonly table: NftTable }
  | { readonly chain: NftChain }
  | { readonly rule: NftRule }
  | { readonly set: NftSet }
  | { readonly map: NftSet }
  | { readonly element: NftElement };

/** One command of a transaction. */
export type NftCommand = { readonly add: NftObject } | { readonly delete: NftObject } | { readonly flush: NftObject };

/** A whole `nft -j -f` document: every command runs in one kernel transaction. */
export interface NftDocument {
  readonly nftables: readonly NftCommand[];
}
