export { FileDriver } from './file-driver';
export { FileStore } from './file-store';
export { FORMAT_VERSION } from './format';
export type { ConfigBackup } from './internal/config-backup';
export { type FileStoreLayout, layoutOf } from './layout';
export { defaultFileStoreDir, type FileStoreOptions, type ResolvedFileStoreOptions } from './options';
