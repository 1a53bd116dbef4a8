import { defineConfig } from 'tsup';
import { base, entryPoints } from '../../tsup.base';

// ESM only: the suite runs inside vitest, which cannot be loaded with require().
export default defineConfig({ ...base, format: ['esm'], ...entryPoints({ index: 'src/index.ts' }) });
