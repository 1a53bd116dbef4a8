import { project } from '../../vitest.shared.ts';

export default project('storage-test-suite', { isolate: false });
