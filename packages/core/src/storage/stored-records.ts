import { type Check, FAIL } from '../schemas/plain-checks';
import { storedFeature, storedFeedback, storedUser } from '../schemas/record-checks';
import { type BetaUser, type FeatureRecord, type Feedback, recordSchemas } from '../schemas/records';
import { parseStored } from './validate';

function valid<T>(check: Check<T>, schema: () => Parameters<typeof parseStored>[0]) {
  return (value: unknown, store: string, location: string): T => {
    const checked = check(value);
    return checked === FAIL ? (parseStored(schema(), value, store, location) as T) : checked;
  };
}

/**
 * Validates a feature record a driver decoded: a hand-written check first, `featureRecordSchema`
 * for whatever it does not accept. Throws `StoreDataCorruptedError` naming the store and
 * `location`, as `parseStored` does.
 */
export const validStoredFeature: (value: unknown, store: string, location: string) => FeatureRecord = valid(
  storedFeature,
  () => recordSchemas().featureRecord,
);

/** Validates a registered user a driver decoded (see `validStoredFeature`), with `betaUserSchema` behind. */
export const validStoredUser: (value: unknown, store: string, location: string) => BetaUser = valid(
  storedUser,
  () => recordSchemas().betaUser,
);

/** Validates a feedback entry a driver decoded (see `validStoredFeature`), with `feedbackSchema` behind. */
export const validStoredFeedback: (value: unknown, store: string, location: string) => Feedback = valid(
  storedFeedback,
  () => recordSchemas().feedback,
);
