import {
  type Feedback,
  feedbackSchema,
  type LogEntry,
  logEntrySchema,
  parseStored,
  type RollbackRecord,
  rollbackRecordSchema,
} from '@canary-rollout/core';

/** Validators of JSONL lines, by core's schemas. */
export const lineOf = {
  feedback: (value: unknown, at: string): Feedback => parseStored(feedbackSchema, value, 'storage-file', at),
  log: (value: unknown, at: string): LogEntry => parseStored(logEntrySchema, value, 'storage-file', at),
  rollback: (value: unknown, at: string): RollbackRecord =>
    parseStored(rollbackRecordSchema, value, 'storage-file', at),
};
