import { CanaryRolloutService, ManualClock, MemoryStore } from '@canary-rollout/core';
import { describe, expect, it } from 'vitest';
import { EnhancedParsingService } from '../src/enhanced-parsing-service';
import { AiServiceError, type Extractor, SimulatedOcrExtractor } from '../src/extractors';

const config = {
  canaryRollout: {
    features: {
      aiExtraction: { enabled: true, rolloutPercentage: 100, rolloutStrategy: 'gradual' as const },
    },
  },
};

async function setUp(ai: Extractor) {
  const clock = new ManualClock(Date.UTC(2025, 0, 27));
  const canaryService = await CanaryRolloutService.create({ store: new MemoryStore(), config, clock });
  return {
    canaryService,
    parsing: new EnhancedParsingService({
      canaryService,
      aiExtractor: ai,
      ocrExtractor: new SimulatedOcrExtractor(),
    }),
  };
}

const doc = { id: 'doc-1', pages: 2 };

describe('EnhancedParsingService', () => {
  it('runs the AI path for users in the rollout and records the call', async () => {
    const { canaryService, parsing } = await setUp({
      extract: async (d) => ({ documentId: d.id, category: 'invoice', via: 'ai' }),
    });
    expect((await parsing.parse('user-1', doc)).via).toBe('ai');
    expect(canaryService.getRolloutStatus().features['aiExtraction']?.metrics).toMatchObject({
      calls: 1,
      failedCalls: 0,
    });
  });

  it('falls back to OCR when the AI throws, and counts the failure', async () => {
    const { canaryService, parsing } = await setUp({
      extract: async () => {
        throw new AiServiceError('503');
      },
    });
    expect((await parsing.parse('user-1', doc)).via).toBe('ocr');
    expect(canaryService.getRolloutStatus().features['aiExtraction']?.metrics).toMatchObject({
      calls: 1,
      failedCalls: 1,
    });
  });

  it('uses OCR without calling the AI when the feature is off for the user', async () => {
    let called = 0;
    const { canaryService, parsing } = await setUp({
      extract: async (d) => {
        called += 1;
        return { documentId: d.id, category: 'invoice', via: 'ai' };
      },
    });
    await canaryService.updateRolloutPercentage('aiExtraction', 0);
    expect((await parsing.parse('user-1', doc)).via).toBe('ocr');
    expect(called).toBe(0);
  });
});
