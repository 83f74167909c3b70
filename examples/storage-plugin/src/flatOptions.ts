import { Type } from '@sinclair/typebox';

/**
 * The `storage.cfg` options of a `flatdir` storage, as a typebox schema. The facade adds the
 * options every storage has (`content`, `nodes`, `disable`, `shared`) and validates a
 * definition against both before anything is written: a bad value is refused with
 * `InvalidConfigError` whose `key` names the option. Values arrive as strings.
 *
 * - `path` (required): absolute directory holding the images; created on activation.
 */
export const flatOptionsSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/[^\\u0000]*$', description: 'absolute path of the directory holding the images' }),
  },
  { additionalProperties: false },
);
