import { Type } from "@sinclair/typebox";
import {
  InvalidConfigError,
  type StorageContent,
  type StorageDefinition,
} from "@corral/core";

const bool = Type.Union([Type.Literal("0"), Type.Literal("1")]);

/**
 * The `storage.cfg` options of an `nfs` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's NFSPlugin accepts them. Values are strings.
 *
 * - `server` (required): IPv4, IPv6 or DNS name of the NFS server (pve's `pve-storage-server`).
 * - `export` (required): absolute export path on the server (`/srv/nfs/pve`).
 * - `path` (required): the local mount point (Proxmox fills in `/mnt/pve/<storeid>`; here it
 *   must be given). Files are laid out under it as on a dir storage.
 * - `options`: NFS mount options passed as `mount -o <options>` (`vers=4.2,soft`).
 * - `content-dirs`: `<content>=<relative dir>` pairs, comma separated, overriding the
 *   default directory of a content type (`iso=isos,backup=dumps`).
 * - `mkdir` / `create-base-path` / `create-subdirs`, `format`, `preallocation`,
 *   `prune-backups`, `max-protected-backups`, `bwlimit`: as for dir (accepted and kept;
 *   retention and bandwidth limits are not enforced here).
 */
export const nfsOptionsSchema = Type.Object(
  {
    server: Type.String({
      pattern:
        "^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\\[?[0-9A-Fa-f:.]+\\]?)$",
      maxLength: 253,
      description: "NFS server address or name",
    }),
    export: Type.String({
      pattern: "^/[^;()\\u0000\\s]*$",
      description: "absolute export path on the server",
    }),
    path: Type.String({
      pattern: "^/[^;()\\u0000]+$",
      description: "absolute local mount point",
    }),
    options: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9_.=:,/+-]+$",
        description: "mount options (mount -o)",
      })
    ),
    "content-dirs": Type.Optional(
      Type.String({
        pattern:
          "^(?:images|rootdir|iso|vztmpl|backup|snippets)=[^,;()\\s]+(?:,(?:images|rootdir|iso|vztmpl|backup|snippets)=[^,;()\\s]+)*$",
      })
    ),
    mkdir: Type.Optional(bool),
    "create-base-path": Type.Optional(bool),
    "create-subdirs": Type.Optional(bool),
    format: Type.Optional(
      Type.Union([Type.Literal("raw"), Type.Literal("qcow2")])
    ),
    preallocation: Type.Optional(
      Type.Union([
        Type.Literal("off"),
        Type.Literal("metadata"),
        Type.Literal("falloc"),
        Type.Literal("full"),
      ])
    ),
    "prune-backups": Type.Optional(
      Type.String({
        pattern:
          "^(?:keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)(?:,keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)*$",
      })
    ),
    "max-protected-backups": Type.Optional(
      Type.String({ pattern: "^(?:-1|\\d+)$" })
    ),
    bwlimit: Type.Optional(
      Type.String({ pattern: "^[a-z]+=\\d+(?:,[a-z]+=\\d+)*$" })
    ),
  },
  { additionalProperties: false }
);

/** The options of an nfs storage, decoded. */
export interface NfsOptions {
  /** Server as written (`10.0.0.5`, `nas.lan`, `fd00::5` or `[fd00::5]`), without brackets. */
  readonly server: string;
  /** Export path on the server. */
  readonly export: string;
  /** Local mount point (absolute). */
  readonly path: string;
  /** `mount -o` options, if any. */
  readonly mountOptions?: string;
  /** Create `path` when missing before mounting (`mkdir`/`create-base-path`, default true). */
  readonly createBasePath: boolean;
  /** Create the content directories after mounting (`create-subdirs`/`mkdir`, default true). */
  readonly createSubdirs: boolean;
  /** Directory (relative to `path`) per content type, from `content-dirs`. */
  readonly contentDirs: Readonly<Partial<Record<StorageContent, string>>>;
  readonly preallocation?: "off" | "metadata" | "falloc" | "full";
}

function flag(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value === "1";
}

/**
 * Parses `content-dirs` (`iso=isos,backup=dumps`). A directory must be relative and stay
 * inside the mount (no `..`, no leading `/`).
 *
 * @throws InvalidConfigError (key `content-dirs`).
 */
export function parseContentDirs(
  value: string | undefined
): Partial<Record<StorageContent, string>> {
  const out: Partial<Record<StorageContent, string>> = {};
  if (!value) return out;
  for (const pair of value.split(",")) {
    const [content, dir] = pair.split("=") as [StorageContent, string];
    const clean = dir.replace(/^\/+|\/+$/g, "");
    if (
      clean === "" ||
      clean.split("/").some((s) => s === ".." || s === "." || s === "")
    ) {
      throw new InvalidConfigError(
        "content-dirs",
        value,
        `invalid 'content-dirs': '${dir}' for ${content} must be a relative directory inside the mount`
      );
    }
    if (out[content] !== undefined)
      throw new InvalidConfigError(
        "content-dirs",
        value,
        `invalid 'content-dirs': ${content} is given twice`
      );
    out[content] = clean;
  }
  return out;
}

/** Decodes a validated definition's options (throws `InvalidConfigError` for a bad `content-dirs`). */
export function nfsOptions(def: StorageDefinition): NfsOptions {
  const o = def.options;
  const mkdir = flag(o.mkdir);
  return {
    server: o.server!.replace(/^\[(.*)\]$/, "$1"),
    export: o.export!,
    path: o.path!,
    mountOptions: o.options,
    createBasePath: flag(o["create-base-path"]) ?? mkdir ?? true,
    createSubdirs: flag(o["create-subdirs"]) ?? mkdir ?? true,
    contentDirs: parseContentDirs(o["content-dirs"]),
    preallocation: o.preallocation as NfsOptions["preallocation"],
  };
}
