/** A document to sort: what the user uploaded. */
export interface SortableDocument {
  readonly id: string;
  readonly pages: number;
}

/** What extraction found, and which path found it. */
export interface Extraction {
  readonly documentId: string;
  readonly category: 'invoice' | 'receipt' | 'contract' | 'letter';
  readonly via: 'ai' | 'ocr';
  readonly tables?: number;
}

/** Extracts a document's content one way or another. */
export interface Extractor {
  extract(document: SortableDocument): Promise<Extraction>;
}

const CATEGORIES = ['invoice', 'receipt', 'contract', 'letter'] as const;

function categoryOf(document: SortableDocument): Extraction['category'] {
  let hash = 0;
  for (const char of document.id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return CATEGORIES[hash % CATEGORIES.length] as Extraction['category'];
}

/** The error the AI service answers with when it is down. */
export class AiServiceError extends Error {
  override readonly name = 'AiServiceError';
}

/**
 * A stand-in for the AI extraction service: answers after a short delay, and fails a share of
 * requests when told to (`failureRate`), as a bad model deployment would.
 */
export class SimulatedAiExtractor implements Extractor {
  /** Share of requests that fail, 0..1. */
  failureRate = 0;

  constructor(private readonly random: () => number = Math.random) {}

  async extract(document: SortableDocument): Promise<Extraction> {
    await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(this.random() * 3)));
    if (this.random() < this.failureRate) throw new AiServiceError('AI extraction service returned 503');
    return { documentId: document.id, category: categoryOf(document), via: 'ai', tables: document.pages % 3 };
  }
}

/** The proven OCR path: slower in real life, never down in this simulation. */
export class SimulatedOcrExtractor implements Extractor {
  async extract(document: SortableDocument): Promise<Extraction> {
    return { documentId: document.id, category: categoryOf(document), via: 'ocr' };
  }
}
