import { project } from '../../vitest.shared.ts';

export default project('telemetry', { isolate: false });
