/**
 * The property-string format of a VM drive value as far as the driver reads it without the
 * full schema: the volume (or path) is the `file` key, written bare or as `volume=`.
 */
export const DRIVE_PROPERTY_FORMAT = { defaultKey: 'file', aliases: { volume: { alias: 'file' } } } as const;
