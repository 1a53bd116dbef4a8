/** Deepest nesting a configuration may have; the real one is 5 levels deep. */
export const MAX_CONFIG_DEPTH = 64;

interface Frame {
  readonly kind: 'object' | 'array';
  readonly path: string;
  readonly keys: Set<string>;
  awaitingKey: boolean;
  key: string;
  index: number;
}

/**
 * Checks what `JSON.parse` lets through silently in text it parsed: a key given twice in one
 * object (JSON.parse keeps the last) and nesting deeper than `MAX_CONFIG_DEPTH` (validating it
 * would exhaust the stack). Returns the problems as `path: message`; iterative, so any depth is safe.
 */
export function jsonTextIssues(text: string): string[] {
  const issues: string[] = [];
  const stack: Frame[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return '';
    const step = top.kind === 'object' ? top.key : String(top.index);
    return top.path === '' ? step : `${top.path}.${step}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = childPath();
      if (stack.length >= MAX_CONFIG_DEPTH) {
        issues.push(`${path === '' ? '(root)' : path}: nested deeper than ${MAX_CONFIG_DEPTH} levels`);
        return issues;
      }
      stack.push({
        kind: c === 0x7b ? 'object' : 'array',
        path,
        keys: new Set(),
        awaitingKey: c === 0x7b,
        key: '',
        index: 0,
      });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.awaitingKey = true;
      else if (top !== undefined) top.index += 1;
    } else if (c === 0x22 /* " */) {
      let end = i + 1;
      while (end < text.length && text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.awaitingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        top.awaitingKey = false;
        top.key = key;
        if (top.keys.has(key)) {
          const path = childPath();
          issues.push(`${path}: duplicate key (given more than once in one object; remove all but one)`);
        }
        top.keys.add(key);
      }
      i = end;
    }
  }
  return issues;
}
