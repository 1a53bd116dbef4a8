export type { CliIo, CliWriter } from './internal/context';
export { main } from './main';
export { VERSION } from './version';
