export { CanaryRolloutProvider, type CanaryRolloutProviderOptions } from './provider';
export { FAILURE_SUFFIX, parseTrackingEvent, SUCCESS_SUFFIX, type TrackedOutcome } from './tracking';
