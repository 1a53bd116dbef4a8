import type { Clock } from '@canary-rollout/core';
import type { DocumentSorter } from '../app';

/** Simulated users uploading documents, with counts of what happened since the last summary. */
export class Traffic {
  /** Documents sorted in all. */
  documents = 0;
  /** Requests that failed for the user (never, thanks to the OCR fallback). */
  userFacingErrors = 0;
  private readonly users: string[] = [];
  private stage = { documents: 0, viaAi: 0, caught: 0, users: new Set<string>() };

  constructor(
    private readonly app: DocumentSorter,
    private readonly clock: Clock,
    private readonly random: () => number,
    users: number,
  ) {
    for (let i = 1; i <= users; i++) this.users.push(`user-${String(i).padStart(5, '0')}`);
  }

  /** Adds users (beta testers) to those who upload. */
  addUsers(ids: readonly string[]): void {
    this.users.push(...ids);
  }

  /** `count` documents from random users, all at once as concurrent requests would come. */
  async serve(count: number): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, async () => {
        const userId = this.users[Math.floor(this.random() * this.users.length)] as string;
        const document = { id: `doc-${this.clock.now()}-${this.documents}`, pages: 1 + (this.documents % 7) };
        this.documents += 1;
        this.stage.documents += 1;
        this.stage.users.add(userId);
        const aiOn = this.app.canaryService.isFeatureEnabledForUser(userId, 'aiExtraction');
        try {
          const result = await this.app.parsing.parse(userId, document);
          if (result.via === 'ai') this.stage.viaAi += 1;
          else if (aiOn) this.stage.caught += 1;
        } catch {
          this.userFacingErrors += 1;
        }
      }),
    );
  }

  /** One line on the documents since the last summary, then starts counting afresh. */
  summary(): string {
    const { documents, viaAi, caught, users } = this.stage;
    this.stage = { documents: 0, viaAi: 0, caught: 0, users: new Set() };
    const share = documents === 0 ? 0 : (viaAi / documents) * 100;
    return `${documents.toLocaleString('en')} documents from ${users.size.toLocaleString('en')} users: ${viaAi} via AI (${share.toFixed(1)} %), ${caught} AI failure${caught === 1 ? '' : 's'} caught by OCR, ${this.userFacingErrors} user-facing errors`;
  }
}
