import { fileURLToPath } from 'node:url';
import { BetaUserService, CanaryRolloutService, type Clock } from '@canary-rollout/core';
import { RolloutMonitoringService } from '@canary-rollout/monitoring';
import { FileStore } from '@canary-rollout/storage-file';
import { EnhancedParsingService } from './enhanced-parsing-service';
import { type Extractor, SimulatedAiExtractor, SimulatedOcrExtractor } from './extractors';
import { type Notify, subscribeToRolloutEvents } from './rollout-events';

/** The example's `config/canary-rollout.json`. */
export const CONFIG_PATH = fileURLToPath(new URL('../config/canary-rollout.json', import.meta.url));

/** Options of `startDocumentSorter`. */
export interface DocumentSorterOptions {
  /** Folder of the file store. @default `~/.config/document-sorter` (the guide's layout) */
  readonly storeDir?: string;
  /** @default the example's config/canary-rollout.json */
  readonly configPath?: string;
  /** @default the wall clock */
  readonly clock?: Clock;
  /** @default a simulated AI service */
  readonly aiExtractor?: Extractor;
  /** @default a simulated OCR path */
  readonly ocrExtractor?: Extractor;
  /** Receives alerts, rollbacks and rollout changes. @default console.log */
  readonly notify?: Notify;
  /** Run the monitor on its own interval; false when the caller ticks it (tests, the demo). @default true */
  readonly startMonitor?: boolean;
}

/** The running app's rollout parts. */
export interface DocumentSorter {
  readonly store: FileStore;
  readonly canaryService: CanaryRolloutService;
  readonly betaUserService: BetaUserService;
  readonly monitor: RolloutMonitoringService;
  readonly parsing: EnhancedParsingService;
  /** Stops the monitor, flushes usage and closes the store. */
  close(): Promise<void>;
}

// #region wiring
/**
 * Starts the document sorter's rollout system, as the guide says: "automatically initialized when
 * the Enhanced Parsing Service starts". The file store keeps the live state under
 * ~/.config/document-sorter/, shared with `node scripts/rollout-manager.js`.
 */
export async function startDocumentSorter(options: DocumentSorterOptions = {}): Promise<DocumentSorter> {
  const store = new FileStore({
    appName: 'document-sorter',
    ...(options.storeDir === undefined ? {} : { dir: options.storeDir }),
  });
  const canaryService = await CanaryRolloutService.create({
    store,
    config: options.configPath ?? CONFIG_PATH,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const betaUserService = new BetaUserService({ rollout: canaryService });
  const monitor = new RolloutMonitoringService({ rollout: canaryService });
  const unsubscribe = subscribeToRolloutEvents(monitor, options.notify ?? console.log);
  if (options.startMonitor !== false) await monitor.start();
  const parsing = new EnhancedParsingService({
    canaryService,
    aiExtractor: options.aiExtractor ?? new SimulatedAiExtractor(),
    ocrExtractor: options.ocrExtractor ?? new SimulatedOcrExtractor(),
  });
  return {
    store,
    canaryService,
    betaUserService,
    monitor,
    parsing,
    async close() {
      await monitor.stop();
      unsubscribe();
      await canaryService.close();
      await store.close();
    },
  };
}
// #endregion wiring
