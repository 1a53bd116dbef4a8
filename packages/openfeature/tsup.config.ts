import { defineConfig } from 'tsup';
import { base, entryPoints } from '../../tsup.base';

export default defineConfig({ ...base, ...entryPoints({ index: 'src/index.ts' }) });
