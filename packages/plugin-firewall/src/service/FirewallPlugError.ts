import { CorralError, ErrorCodes } from '@corral/core';

/**
 * A guest NIC could not be plugged because its firewall rules could not be applied: the
 * guest's files did not resolve or nftables refused them. Names the guest and the NIC; the code
 * is the cause's (`CORRAL_ERR_INVALID_CONFIG` for a bad file, `CORRAL_ERR_COMMAND_FAILED` for
 * nft), `CORRAL_ERR_INTERNAL` for anything else. The cause is kept.
 */
export class FirewallPlugError extends CorralError {
  constructor(
    readonly vmid: number,
    readonly key: string,
    cause: unknown,
  ) {
    super(
      cause instanceof CorralError ? cause.code : ErrorCodes.internal,
      `guest ${vmid} ${key}: firewall rules not applied: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}
