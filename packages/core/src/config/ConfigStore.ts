/**
 * The config store: where guest configs, storage.cfg and every other persistent text lives,
 * under paths like `nodes/<node>/qemu-server/<vmid>.conf` (Proxmox's /etc/pve layout).
 *
 * Every file has a digest (SHA-1 hex of its bytes, as Proxmox's `digest`). Writers pass the
 * digest they read to {@link ConfigStore.write}; a mismatch raises `DigestMismatchError`, so
 * no update is lost. The default implementation is {@link LocalConfigStore} (atomic files
 * under dataDir); the cluster plugin supplies an etcd-backed one.
 *
 * Paths are relative, `/`-separated, without `..`, empty segments or a leading `/`
 * (`InvalidArgumentError` otherwise).
 *
 * @packageDocumentation
 */

/** A file read from the store. */
export interface ConfigFile {
  readonly path: string;
  readonly content: string;
  /** SHA-1 hex of the content (Proxmox's `digest`). */
  readonly digest: string;
}

/** Options of {@link ConfigStore.write}. */
export interface ConfigWriteOptions {
  /**
   * Compare-and-set: the digest the caller read. `null` means the file must not exist yet.
   * Omitted: unconditional write.
   */
  readonly expectedDigest?: string | null;
}

/** A change seen by {@link ConfigStore.watch}. */
export interface ConfigChange {
  readonly type: 'write' | 'delete';
  readonly path: string;
  /** Digest after a write. */
  readonly digest?: string;
  /**
   * The store revision of the change, from a store that keeps revisions (see
   * {@link ConfigStore.watchFrom}); absent when the store does not know it.
   */
  readonly revision?: string;
}

/**
 * One step of {@link ConfigStore.transaction}. `write` and `delete` take the same
 * `expectedDigest` as {@link ConfigStore.write} and {@link ConfigStore.delete}; `check` changes
 * nothing and only requires the file's digest (`null`: the file must not exist).
 */
export type ConfigTxOp =
  | { readonly type: 'write'; readonly path: string; readonly content: string; readonly expectedDigest?: string | null }
  | { readonly type: 'delete'; readonly path: string; readonly expectedDigest?: string }
  | { readonly type: 'check'; readonly path: string; readonly expectedDigest: string | null };

/** What {@link ConfigStore.transaction} returns. */
export interface ConfigTxResult {
  /** The new digest of each written path. */
  readonly digests: ReadonlyMap<string, string>;
}

/** Persistent text store with digests and compare-and-set. */
export interface ConfigStore {
  /** Reads a file; `null` when it does not exist. */
  read(path: string): Promise<ConfigFile | null>;
  /**
   * Writes a file atomically (readers see the old or the new content, never a mix).
   * Throws `DigestMismatchError` when `expectedDigest` does not match. Returns the new digest.
   *
   * When it throws anything else, a `read` right after must tell the outcome: the new content
   * (the write landed) or not (it did not, and never will). A store whose failed request may
   * still commit later (a remote store after a timeout) throws `WriteOutcomeUnknownError`
   * instead, so that callers undo nothing the new content could name.
   */
  write(path: string, content: string, options?: ConfigWriteOptions): Promise<string>;
  /**
   * Deletes a file. With `expectedDigest`, only when it matches (else `DigestMismatchError`).
   * Returns false when there was nothing to delete.
   */
  delete(path: string, options?: { expectedDigest?: string }): Promise<boolean>;
  /** Names (not paths) of the files directly in directory `dir`, sorted; [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  /**
   * Names of the directories directly in `dir` (e.g. the node names under `nodes`), sorted;
   * [] when it does not exist. Optional: a store without directories (a flat key space) may
   * omit it, and callers then need the list from elsewhere (cluster membership).
   */
  listDirs?(dir: string): Promise<string[]>;
  /**
   * Reads every file directly in `dir` whose name ends with `suffix`, in one call (the hot
   * path of guest listings). Sorted by name.
   */
  readAll(dir: string, suffix?: string): Promise<ConfigFile[]>;
  /**
   * Applies every op or none: all expectations are checked first, under the locks of every
   * path involved; a `DigestMismatchError` (naming the first path that failed) leaves
   * everything as it was. A crash mid-way leaves the old state or, once the store's commit
   * point is passed, a state the store completes to the new one. Each path at most once per
   * transaction (`InvalidArgumentError`). Optional: core's callers fall back to single-file
   * compare-and-set without it.
   */
  transaction?(ops: readonly ConfigTxOp[]): Promise<ConfigTxResult>;
  /**
   * Moves a file atomically (a migration: `nodes/A/qemu-server/100.conf` to
   * `nodes/B/qemu-server/100.conf`): afterwards exactly one of the two exists. Returns the
   * digest at `to` (the same content). Throws `NotFoundError` when `from` does not exist,
   * `DigestMismatchError` when `to` exists or `from` does not have `expectedDigest`.
   * Optional, as {@link ConfigStore.transaction}.
   */
  move?(from: string, to: string, options?: { expectedDigest?: string }): Promise<string>;
  /** Calls `onChange` for changes under `prefix` until the returned function is called. */
  watch(prefix: string, onChange: (change: ConfigChange) => void): () => void;
  /**
   * The store's current revision: an opaque string to pass to {@link ConfigStore.watchFrom}.
   * Optional: only stores that keep revisions.
   */
  revision?(): Promise<string>;
  /**
   * A resumable watch: calls `onChange` first for every change under `prefix` made after
   * revision `fromRevision` (what a watcher that stopped there missed), in order, then for
   * each new one, each with its `revision`, until the returned function is called. Throws
   * `InvalidArgumentError` for a revision the store does not have. Optional, as {@link revision}.
   */
  watchFrom?(prefix: string, fromRevision: string, onChange: (change: ConfigChange) => void): () => void;
}
