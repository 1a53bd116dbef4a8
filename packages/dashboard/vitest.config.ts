import { project } from '../../vitest.shared.ts';

// One browser per file, and the machine has two cores: files run one after another.
export default project('dashboard', { testTimeout: 60_000, fileParallelism: false });
