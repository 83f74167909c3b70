import type { StorageDriverInfo } from "@corral/core";
import { nfsOptionsSchema } from "./nfsOptions.js";

const IMAGE = ["raw", "qcow2"] as const;

/**
 * The capability record of the `nfs` type. Features follow pve-storage's `volume_has_feature`
 * for file storages, for raw and qcow2 images: qcow2 internal snapshots, templates and linked
 * clones (qcow2 overlays on a base), full copies through `raw+size`, grow and shrink. No
 * container subvols (Proxmox keeps container volumes on NFS as raw images; rootdir is not
 * offered here yet).
 */
export const NFS_STORAGE_INFO: StorageDriverInfo =
  Object.freeze<StorageDriverInfo>({
    type: "nfs",
    description:
      "NFS export mounted on the node: raw/qcow2 image files (opened by QEMU through libnfs), ISO images, container templates, backups and snippets",
    contentTypes: ["images", "iso", "vztmpl", "backup", "snippets"],
    defaultContent: ["images"],
    formats: ["raw", "qcow2"],
    defaultFormat: "raw",
    shared: true,
    thin: true,
    accessKinds: ["file", "qemu"],
    features: {
      snapshot: { current: ["qcow2"] },
      rollback: { snapshot: ["qcow2"] },
      clone: { base: IMAGE },
      template: { current: IMAGE },
      copy: { base: IMAGE, current: IMAGE },
      resize: { current: IMAGE },
      shrink: { current: IMAGE },
      sparseinit: { base: IMAGE, current: IMAGE },
    },
    exportFormats: ["raw+size"],
    importFormats: ["raw+size"],
    liveSnapshots: true,
    optionsSchema: nfsOptionsSchema,
    secretOptions: [],
    privilegedOptions: ["path", "server", "export", "options"],
  });
