import { project } from '../../vitest.shared.ts';

export default project('storage-file', { children: true });
