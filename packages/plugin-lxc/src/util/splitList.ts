/** Splits a Proxmox list value (`PVE::Tools::split_list`): on `,`, `;` and white space. */
export function splitList(text: string): string[] {
  return text.split(/[,;\s]+/).filter((s) => s !== '');
}
