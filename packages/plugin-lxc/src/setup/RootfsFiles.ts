/**
 * Reading and writing files of a container's root file system from the host, safely.
 *
 * WARNING: a rootfs is untrusted: `/etc/resolv.conf` may be a symlink to `/etc/shadow` of the
 * host, or `../../../root`. Paths are resolved here as `chroot` would resolve them (absolute
 * symlink targets start at the rootfs, `..` stops at its top), and the final open uses
 * `O_NOFOLLOW`. Only use this while the container is stopped (its processes could otherwise
 * swap a directory for a symlink between the check and the write).
 *
 * @packageDocumentation
 */
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InvalidStateError } from '@corral/core';

/** Most symlinks followed in one resolution (as the kernel's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/** Files of one container rootfs. */
export class RootfsFiles {
  /**
   * @param root - Host path of the rootfs directory.
   * @param owner - Host uid/gid of the container's root (100000/100000 for an unprivileged
   *   container): owner of the files and directories created here.
   */
  constructor(
    readonly root: string,
    readonly owner: { readonly uid: number; readonly gid: number } = { uid: 0, gid: 0 },
  ) {}

  /**
   * The host path of `path` (absolute inside the container), with every symlink resolved
   * inside the rootfs. Missing components are kept as written (they will be created).
   *
   * @throws InvalidStateError after more than 40 symlinks (a loop).
   */
  async resolve(path: string): Promise<string> {
    const queue = path.split('/').filter((p) => p !== '');
    const done: string[] = [];
    let links = 0;
    let missing = false;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      if (missing) {
        done.push(part);
        continue;
      }
      const host = join(this.root, ...done, part);
      let isLink = false;
      try {
        isLink = (await lstat(host)).isSymbolicLink();
      } catch {
        missing = true;
      }
      if (!isLink) {
        done.push(part);
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new InvalidStateError('rootfs', `too many symlinks resolving '${path}' in the container`);
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      queue.unshift(...target.split('/').filter((p) => p !== ''));
    }
    return join(this.root, ...done);
  }

  /** The content of a file, or `undefined` when it does not exist or is not a regular file. */
  async read(path: string): Promise<string | undefined> {
    const host = await this.resolve(path);
    try {
      const st = await lstat(host);
      if (!st.isFile()) return undefined;
      return await readFile(host, 'utf8');
    } catch {
      return undefined;
    }
  }

  /** True when `path` exists in the container (after symlinks). */
  async exists(path: string): Promise<boolean> {
    try {
      await lstat(await this.resolve(path));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Creates a directory and its missing parents, owned by the container's root.
   *
   * @throws InvalidStateError when a component exists and is not a directory.
   */
  async mkdir(path: string, mode = 0o755): Promise<string> {
    const parts = path.split('/').filter((p) => p !== '');
    let current = '/';
    let host = this.root;
    for (const part of parts) {
      current = current === '/' ? `/${part}` : `${current}/${part}`;
      host = await this.resolve(current);
      try {
        const st = await lstat(host);
        if (!st.isDirectory()) throw new InvalidStateError('rootfs', `'${current}' in the container is not a directory`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await mkdir(host, { mode });
        await chown(host, this.owner.uid, this.owner.gid);
      }
    }
    return host;
  }

  /**
   * Writes a whole file. A new file gets `mode` and the container root as owner; an existing
   * one keeps its owner and mode. Parent directories are created.
   *
   * @throws InvalidStateError when the path (after symlinks) is not a regular file.
   */
  async write(path: string, content: string | Uint8Array, options: { mode?: number; uid?: number; gid?: number } = {}): Promise<void> {
    // Resolve first: the parent to create is the one of the symlinks' final target.
    const target = `/${relative(this.root, await this.resolve(path))}`;
    await this.mkdir(target.slice(0, target.lastIndexOf('/')) || '/');
    const host = await this.resolve(target);
    let existed = true;
    try {
      const st = await lstat(host);
      if (!st.isFile()) throw new InvalidStateError('rootfs', `'${path}' in the container is not a regular file`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      existed = false;
    }
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
    const handle = await open(host, flags, options.mode ?? 0o644);
    try {
      await handle.writeFile(content);
      if (!existed || options.uid !== undefined) {
        await handle.chown(options.uid ?? this.owner.uid, options.gid ?? this.owner.gid);
        if (options.mode !== undefined) await handle.chmod(options.mode);
      }
    } finally {
      await handle.close();
    }
  }
}
