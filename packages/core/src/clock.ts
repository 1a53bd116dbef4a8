/** A source of the current time (epoch ms); inject one in tests. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to, for tests. */
export class ManualClock implements Clock {
  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.time += ms;
  }

  /** Sets the clock to `time`. */
  set(time: number): void {
    this.time = time;
  }
}
