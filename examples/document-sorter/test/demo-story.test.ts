import { afterEach, beforeEach, expect, it } from 'vitest';
import { runDemo } from '../src/demo/scenario';
import { type Home, temporaryHome } from './helpers';

let home: Home;
beforeEach(() => {
  home = temporaryHome();
});
afterEach(() => home.cleanup());

it('ramps aiExtraction 5 % -> 10 % -> 25 % while healthy, then alerts and rolls back when the AI fails', async () => {
  let output = '';
  const summary = await runDemo({
    storeDir: home.storeDir,
    out: { write: (text: string) => (output += text) },
  });

  const aboutAi = summary.events.filter((e) => e.includes('aiExtraction'));
  expect(aboutAi).toEqual([
    'rollout   aiExtraction: 0 % -> 5 %',
    'rollout   aiExtraction: 5 % -> 10 %',
    'rollout   aiExtraction: 10 % -> 25 %',
    expect.stringMatching(/^ALERT {5}critical aiExtraction: error rate \d+\.\d % > 5\.0 %/),
    // The comparison with the users who kept OCR (the control group) says the same, with evidence.
    expect.stringMatching(
      /^ALERT {5}warning aiExtraction: treatment worse than control: error rate \d+\.\d % vs control \d\.\d % \(\+\d+\.\d pts, always-valid interval/,
    ),
    'rollout   aiExtraction: 25 % -> 0 %',
    expect.stringMatching(
      /^ROLLBACK {2}aiExtraction -> 0 %, beta list cleared \(error rate \d+\.\d % over \d+ calls\)$/,
    ),
    'resolved  aiExtraction: high-error-rate is over',
    'resolved  aiExtraction: treatment-worse is over',
  ]);
  expect(summary.finalPercentage).toBe(0);
  expect(summary.userFacingErrors).toBe(0);
  expect(summary.documents).toBeGreaterThan(8000);
  expect(output).toContain('trying 10 % already: refused');
  expect(output).toMatch(
    /Final status \(node scripts\/rollout-manager\.js status\):\n\nCanary rollout: enabled/,
  );
  expect(output).toMatch(/^aiExtraction\s+on\s+0 %\s+gradual\s+0\s.*rolled back/m);
  expect(output).toMatch(/aiExtraction: last rollback .*, automatic rollback: error rate/);
});
