import { project } from '../../vitest.shared.ts';

export default project('document-sorter', { children: true });
