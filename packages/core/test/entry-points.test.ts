import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as root from '@canary-rollout/core';
import * as experiments from '@canary-rollout/core/experiments';
import * as monitorKit from '@canary-rollout/core/monitor-kit';
import * as storeKit from '@canary-rollout/core/store-kit';
import * as testing from '@canary-rollout/core/testing';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Each entry point's exports, written out: a name added to or dropped from an entry fails here, so
 * the root stays what an app needs and the subpaths what their audience needs. Change a list only
 * together with the entry file, and decide first where the name belongs (docs/architecture.md).
 */
interface Entry {
  /** Its files' name in `dist/`. */
  readonly dist: string;
  /** The entry file under `src/`, read for its type-only exports (which no module object shows). */
  readonly source: string;
  /** The entry as imported by its package name (the tests resolve it to its source). */
  readonly loaded: object;
  readonly values: readonly string[];
  readonly types: readonly string[];
}

const entries: Record<string, Entry> = {
  '@canary-rollout/core': {
    dist: 'index',
    source: 'index.ts',
    loaded: root,
    values: [
      'BetaUserService',
      'CanaryRolloutError',
      'CanaryRolloutService',
      'ConfigInvalidError',
      'ConflictError',
      'InvalidArgumentError',
      'ManualClock',
      'MemoryStore',
      'NotFoundError',
      'RolloutGuardError',
      'StoreDataCorruptedError',
      'StoreDataLostError',
      'StoreUnavailableError',
      'buildRolloutStatus',
      'canaryConfigSchema',
      'defaultConfig',
      'featureConfigSchema',
      'isCanaryRolloutError',
      'isOnReason',
      'isValidEmail',
      'isValidFeatureName',
      'isValidPercentage',
      'loadConfigFile',
      'normalizePercentage',
      'parseConfig',
      'systemClock',
    ],
    types: [
      'AttributeType',
      'AttributeValue',
      'AuditAction',
      'AuditEntry',
      'AuditState',
      'BetaUser',
      'BetaUserServiceOptions',
      'BetaUserView',
      'BucketingAlgorithm',
      'BucketingConfig',
      'CanaryConfig',
      'CanaryConfigInput',
      'CanaryErrorCode',
      'CanaryRolloutEvents',
      'CanaryRolloutServiceOptions',
      'Clock',
      'ConfigDefinition',
      'Constraint',
      'ConstraintOperator',
      'Decision',
      'DeepReadonly',
      'Evaluation',
      'EvaluationContext',
      'EvaluationObserver',
      'EvaluationReason',
      'EvaluationStep',
      'ExperimentsConfig',
      'FeatureConfig',
      'FeatureNameRegistry',
      'FeaturePaths',
      'FeatureRecord',
      'FeatureStatus',
      'FeatureUsage',
      'Feedback',
      'FeedbackInput',
      'FeedbackSummary',
      'FlushOptions',
      'HealthLevel',
      'MemoryStoreOptions',
      'MetricBucket',
      'MetricsSummary',
      'PlanConfig',
      'PlanMove',
      'PlanMoveOptions',
      'PlanStatus',
      'PlanStatusValue',
      'PlanStepConfig',
      'RegisterUserInput',
      'RegisteredFeatureName',
      'RestoredState',
      'RollbackRecord',
      'RolloutChange',
      'RolloutState',
      'RolloutStatus',
      'RolloutStatusInput',
      'RolloutStore',
      'RolloutStrategy',
      'Rule',
      'RuleStatus',
      'RuleTrace',
      'Segment',
      'StateLoss',
      'StoreChange',
      'ThresholdsConfig',
      'UpdateRolloutOptions',
      'UserGroup',
      'VariantConfig',
    ],
  },
  '@canary-rollout/core/store-kit': {
    dist: 'store-kit',
    source: 'store-kit.ts',
    loaded: storeKit,
    values: [
      'APP_NAME_ENV',
      'ChangeFeed',
      'ConflictError',
      'DRIVER_COLLECTIONS',
      'DRIVER_LOGS',
      'DriverStore',
      'InvalidArgumentError',
      'ListenerSet',
      'MAX_META_KEY_LENGTH',
      'MAX_METRIC_COUNT',
      'MAX_USER_ID_LENGTH',
      'MemoryDriver',
      'NotFoundError',
      'StoreDataCorruptedError',
      'StoreDataLostError',
      'StoreUnavailableError',
      'addCounts',
      'addLatency',
      'appConfigDir',
      'applyOperations',
      'assertUserIdArgument',
      'betaUserSchema',
      'callListener',
      'checkNumberOption',
      'commitConflicts',
      'createMemoryStoreData',
      'createRolloutStore',
      'describeUserId',
      'emailKey',
      'emptyMetricBucket',
      'featureRecordSchema',
      'featureWriteSchema',
      'feedbackSchema',
      'isHistogram',
      'isMetricBucket',
      'isOffForEveryone',
      'isValidUserId',
      'isWellFormedText',
      'jsonCopy',
      'jsonValueProblem',
      'logEntrySchema',
      'mergeMetricBucket',
      'mergeMetricBuckets',
      'metaKeyProblem',
      'metricBatchSchema',
      'metricBucketSchema',
      'metricBucketsJson',
      'metricKey',
      'newId',
      'normalizeEmail',
      'notifyListeners',
      'orTimeout',
      'packageLabel',
      'parseArgument',
      'parseJsonText',
      'parseStored',
      'planRollback',
      'planStateSchema',
      'resolveAppName',
      'resolveNamespace',
      'rollbackRecordSchema',
      'settlesWithin',
      'userIdProblem',
      'validStoredBucket',
      'validStoredFeature',
      'validStoredFeedback',
      'validStoredUser',
    ],
    types: [
      'AppliedOperations',
      'BetaUser',
      'ChangeFeedHooks',
      'ChangeFeedOptions',
      'ChangeFeedTransport',
      'DriverCollection',
      'DriverCommit',
      'DriverCommitResult',
      'DriverEntry',
      'DriverExpectation',
      'DriverLog',
      'DriverLogQuery',
      'DriverOperation',
      'DriverReadRequest',
      'DriverSet',
      'DriverSetName',
      'DriverSnapshot',
      'FeatureRecord',
      'FeatureWrite',
      'Feedback',
      'HeldData',
      'HeldEntry',
      'HeldSet',
      'LogEntry',
      'LogKind',
      'LogQuery',
      'MemoryEntry',
      'MemoryLogLine',
      'MemorySet',
      'MemoryStoreData',
      'MetaExpectation',
      'MetaRecord',
      'MetricBatch',
      'MetricBucket',
      'MetricsReadOptions',
      'NumberOptionRule',
      'PlanState',
      'PutFeatureOptions',
      'RollbackPlan',
      'RollbackRecord',
      'RollbackRequest',
      'RollbackResult',
      'RolloutDriver',
      'RolloutState',
      'RolloutStore',
      'RolloutStoreOptions',
      'StoreChange',
    ],
  },
  '@canary-rollout/core/experiments': {
    dist: 'experiments',
    source: 'experiments/index.ts',
    loaded: experiments,
    values: [
      'BETA_ARM',
      'BUCKETS',
      'CONTROL_ARM',
      'RULE_ARM_PREFIX',
      'TREATMENT_ARM',
      'USER_ESTIMATE_RELATIVE_ERROR',
      'VARIANT_ARM_PREFIX',
      'VARIANT_NAME_PATTERN',
      'VariantAssigner',
      'armOf',
      'armOfUser',
      'assignVariant',
      'bucketOf',
      'checkSampleRatio',
      'compareArms',
      'compareErrorRates',
      'compareLatency',
      'compareRates',
      'compareSuccessRates',
      'controlRange',
      'expectedArmShares',
      'flagdBucket',
      'growthbookHash',
      'murmurPrefix',
      'murmurUtf8',
      'murmurUtf8Hash',
      'percentageToThreshold',
      'ruleArm',
      'seedPrefix',
      'unleashNormalizedValue',
      'variantArm',
    ],
    types: [
      'ArmComparison',
      'ArmRate',
      'BucketRange',
      'ComparisonArm',
      'ComparisonOptions',
      'ComparisonVerdict',
      'ErrorCounts',
      'LatencyComparison',
      'LatencyHistogram',
      'MurmurPrefix',
      'QuantileComparison',
      'RateComparison',
      'RateCounts',
      'RateDirection',
      'SampleRatioCheck',
      'SampleRatioOptions',
      'SuccessCounts',
      'VariantWeight',
    ],
  },
  '@canary-rollout/core/monitor-kit': {
    dist: 'monitor-kit',
    source: 'monitor-kit.ts',
    loaded: monitorKit,
    values: [
      'DEFAULT_AUDIT_KEY',
      'HEALTH_MARK_PREFIX',
      'HISTOGRAM_BINS',
      'HLL_REGISTERS',
      'SafeEventEmitter',
      'auditPseudonym',
      'binValue',
      'checkNumberOption',
      'defaultActor',
      'evaluateHealth',
      'healthMarkKey',
      'histogramQuantile',
      'hllEstimate',
      'latencyBin',
      'mergeAll',
      'planStatus',
      'raiseAllowance',
      'readHealthMarks',
      'selectWindow',
      'summarize',
      'thresholdsFor',
      'withConfigFeatures',
      'withHealthMark',
      'withoutPart',
    ],
    types: [
      'BlindCause',
      'DegradationSettings',
      'EventMap',
      'Finding',
      'FindingType',
      'HealthInput',
      'HealthMark',
      'HealthMarks',
      'HealthThresholds',
      'HealthVerdict',
      'NumberOptionRule',
      'RaiseAllowance',
    ],
  },
  '@canary-rollout/core/testing': {
    dist: 'testing',
    source: 'testing.ts',
    loaded: testing,
    values: ['ManualClock', 'MemoryStore', 'createMemoryStoreData'],
    types: [],
  },
};

const ROOT = '@canary-rollout/core';
const sorted = (names: Iterable<string>) => [...names].sort();
const subpathOf = (name: string) => `.${name.slice(ROOT.length)}`;
const inPackage = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** Names an entry file exports as types only; an entry holds nothing but named re-exports. */
function typeExports(source: string): string[] {
  const path = inPackage(`src/${source}`);
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of file.statements) {
    if (
      !ts.isExportDeclaration(statement) ||
      statement.exportClause === undefined ||
      !ts.isNamedExports(statement.exportClause)
    ) {
      throw new Error(`${source}: an entry holds only named re-exports (no export *, no declarations)`);
    }
    for (const element of statement.exportClause.elements) {
      if (statement.isTypeOnly || element.isTypeOnly) names.push(element.name.text);
    }
  }
  return names;
}

describe('entry points', () => {
  for (const [name, entry] of Object.entries(entries)) {
    describe(name, () => {
      it('exports exactly the listed values, each defined', () => {
        expect(sorted(Object.keys(entry.loaded))).toEqual(sorted(entry.values));
        const loaded = entry.loaded as Record<string, unknown>;
        expect(entry.values.filter((value) => loaded[value] === undefined)).toEqual([]);
      });

      it('exports exactly the listed types', () => {
        expect(sorted(typeExports(entry.source))).toEqual(sorted(entry.types));
      });
    });
  }

  it('a value is on the root and on a subpath only when apps need it too', () => {
    const onSubpaths = new Set(
      Object.entries(entries).flatMap(([name, entry]) => (name === ROOT ? [] : entry.values)),
    );
    // The errors a store throws, and the test helpers.
    expect(entries[ROOT]?.values.filter((value) => onSubpaths.has(value))).toEqual([
      'ConflictError',
      'InvalidArgumentError',
      'ManualClock',
      'MemoryStore',
      'NotFoundError',
      'StoreDataCorruptedError',
      'StoreDataLostError',
      'StoreUnavailableError',
    ]);
  });

  it('package.json maps exactly these entries, types first, and each subpath has its folder for node10', () => {
    const manifest = JSON.parse(readFileSync(inPackage('package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      files: string[];
    };
    expect(sorted(Object.keys(manifest.exports))).toEqual(
      sorted([...Object.keys(entries).map(subpathOf), './package.json']),
    );
    for (const [name, { dist }] of Object.entries(entries)) {
      // Stringified, so that the order of the conditions is compared too.
      expect(JSON.stringify(manifest.exports[subpathOf(name)])).toBe(
        JSON.stringify({
          import: { types: `./dist/${dist}.d.ts`, default: `./dist/${dist}.js` },
          require: { types: `./dist/${dist}.d.cts`, default: `./dist/${dist}.cjs` },
        }),
      );
      if (name === ROOT) continue;
      const folder = JSON.parse(readFileSync(inPackage(`${dist}/package.json`), 'utf8')) as object;
      expect(folder).toMatchObject({
        main: `../dist/${dist}.cjs`,
        module: `../dist/${dist}.js`,
        types: `../dist/${dist}.d.cts`,
      });
      expect(manifest.files).toContain(dist);
    }
  });
});

const isBuilt = Object.values(entries).every(
  ({ dist }) => existsSync(inPackage(`dist/${dist}.js`)) && existsSync(inPackage(`dist/${dist}.cjs`)),
);
if (!isBuilt)
  console.warn('entry-points: the built files are not checked, core is not built (npm run build)');

describe.skipIf(!isBuilt)('built entry points', () => {
  const require = createRequire(import.meta.url);
  for (const [name, { dist, values }] of Object.entries(entries)) {
    it(`${name} has the listed values from ESM and from CommonJS`, async () => {
      const esm = (await import(pathToFileURL(inPackage(`dist/${dist}.js`)).href)) as object;
      const cjs = require(inPackage(`dist/${dist}.cjs`)) as object;
      expect(sorted(Object.keys(esm))).toEqual(sorted(values));
      expect(sorted(Object.keys(cjs))).toEqual(sorted(values));
    });
  }
});
