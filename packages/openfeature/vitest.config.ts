import { project } from '../../vitest.shared.ts';

export default project('openfeature', { testTimeout: 60_000, isolate: false });
