import { project } from '../../vitest.shared';

export default project('storage-test-suite');
