/**
 * How the CLI shows a value a user gave it inside a one-line error
 * message: in double quotes, with newlines, control characters and quotes
 * escaped (so the message stays one line and the terminal prints what was
 * typed, not what it means), and cut to a sane length (so a pasted
 * megabyte does not flood the screen).
 *
 * @example
 * quoteValue('a\nb') === '"a\\nb"'
 * quoteValue('x'.repeat(500)) === `"${'x'.repeat(60)}…" (500 characters)`
 */

/** Characters of a value shown before it is cut. */
export const QUOTED_CHARS_MAX = 60;
/**
 * Characters of a file path shown before it is cut: a path is what the
 * user must see to fix it, so it gets more room than other values.
 */
export const QUOTED_PATH_CHARS_MAX = 240;

const NAMED_ESCAPES: Record<string, string> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '"': '\\"',
  '\\': '\\\\',
};

/** A file path in double quotes, escaped, cut only past {@link QUOTED_PATH_CHARS_MAX}. */
export function quotePath(path: string): string {
  return quoteValue(path, QUOTED_PATH_CHARS_MAX);
}

/** `text` in double quotes, escaped and cut (see the file comment). */
export function quoteValue(text: string, charsMax: number = QUOTED_CHARS_MAX): string {
  const characters = [...text];
  const shown = characters.slice(0, charsMax).map(escapeCharacter).join('');
  if (characters.length <= charsMax) return `"${shown}"`;
  return `"${shown}…" (${characters.length} characters)`;
}

/** One character as it may appear on a terminal line. */
function escapeCharacter(character: string): string {
  const named = NAMED_ESCAPES[character];
  if (named !== undefined) return named;
  const code = character.codePointAt(0)!;
  // C0 and C1 controls, DEL, and the line and paragraph separators.
  if (code < 0x20 || (code >= 0x7f && code < 0xa0) || code === 0x2028 || code === 0x2029) {
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return character;
}

/**
 * A whole message made safe for one terminal line, for messages that
 * embed text the CLI did not quote itself (a parser's error): control
 * characters and newlines escaped, every double-quoted value in it cut to
 * {@link QUOTED_PATH_CHARS_MAX} characters (so the expectation after a huge
 * value survives, and a path stays whole), and the whole cut at
 * `charsMax` characters.
 */
export function oneLine(message: string, charsMax = 1000): string {
  const escaped = [...message]
    .map((character) =>
      character === '"' || character === '\\' ? character : escapeCharacter(character),
    )
    .join('');
  const shortened = escaped.replace(/"((?:[^"\\]|\\.)*)"/g, (quoted, inner: string) => {
    const characters = [...inner];
    return characters.length <= QUOTED_PATH_CHARS_MAX
      ? quoted
      : `"${characters.slice(0, QUOTED_PATH_CHARS_MAX).join('')}…"`;
  });
  const characters = [...shortened];
  if (characters.length <= charsMax) return shortened;
  return `${characters.slice(0, charsMax).join('')}…`;
}
