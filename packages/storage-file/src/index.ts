export { FileStore } from './file-store';
export { FORMAT_VERSION } from './format';
export { type FileStoreLayout, layoutOf } from './layout';
export { defaultFileStoreDir, type FileStoreOptions, type ResolvedFileStoreOptions } from './options';
