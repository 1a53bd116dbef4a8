import { project } from '../../vitest.shared';

export default project('openfeature', { testTimeout: 60_000 });
