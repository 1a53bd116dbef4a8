/**
 * A value built on first call and kept. Core's zod schemas are built this way: building them all
 * was the largest part of a CLI command's start-up (`npm run bench -- cli`), and most commands
 * never need most of them (checked records and configs take the hand-written paths first).
 */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}
