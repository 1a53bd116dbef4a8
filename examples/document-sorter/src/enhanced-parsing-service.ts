import type { CanaryRolloutService } from '@canary-rollout/core';
import type { Extraction, Extractor, SortableDocument } from './extractors';

/** What `EnhancedParsingService` needs: the rollout service and the two extraction paths. */
export interface EnhancedParsingServiceOptions {
  readonly canaryService: CanaryRolloutService;
  /** The new AI path, rolled out as `aiExtraction`. */
  readonly aiExtractor: Extractor;
  /** The proven OCR path: the fallback whenever the AI is off for the user or fails. */
  readonly ocrExtractor: Extractor;
}

/**
 * The guide's Enhanced Parsing Service: the one place the app asks the rollout system whether a
 * user gets AI extraction. The SDK runs the AI path for users in the rollout, measures it, and
 * falls back to OCR when it is off or throws, so users never see the AI's failures.
 */
export class EnhancedParsingService {
  private readonly canary: CanaryRolloutService;
  private readonly ai: Extractor;
  private readonly ocr: Extractor;

  constructor(options: EnhancedParsingServiceOptions) {
    this.canary = options.canaryService;
    this.ai = options.aiExtractor;
    this.ocr = options.ocrExtractor;
  }

  // #region parse
  /** Sorts a document for a user: AI extraction where rolled out, OCR otherwise or on failure. */
  async parse(userId: string, document: SortableDocument): Promise<Extraction> {
    return this.canary.runFeature(userId, 'aiExtraction', {
      enabled: () => this.ai.extract(document),
      fallback: () => this.ocr.extract(document),
    });
  }
  // #endregion parse

  /** True when table extraction (beta-only in the example config) is on for the user. */
  tablesEnabledFor(userId: string): boolean {
    return this.canary.isFeatureEnabledForUser(userId, 'tableExtraction');
  }
}
