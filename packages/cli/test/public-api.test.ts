import { type CliIo, type CliWriter, main, VERSION } from '@canary-rollout/cli';
import { describe, expectTypeOf, it } from 'vitest';

describe('public API', () => {
  it('main takes argv and optional io, and resolves to an exit code', () => {
    expectTypeOf(main).parameters.toEqualTypeOf<[argv: readonly string[], io?: CliIo]>();
    expectTypeOf(main).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(VERSION).toEqualTypeOf<string>();
  });

  it('io needs only writers; env, cwd and a clock are optional', () => {
    expectTypeOf<{ stdout: CliWriter; stderr: CliWriter }>().toExtend<CliIo>();
    expectTypeOf<CliIo['now']>().toEqualTypeOf<(() => number) | undefined>();
    expectTypeOf<{ write(text: string): boolean }>().toExtend<CliWriter>();
  });
});
