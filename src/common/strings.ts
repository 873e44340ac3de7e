/**
 * `s` without the run of `ch` at its end. A loop, not `/x+$/`: that pattern is quadratic on a long run of `x`
 * followed by anything else, as the engine retries the run from every position.
 */
export function trimTrailing(s: string, ch: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === ch) end--;
  return end === s.length ? s : s.slice(0, end);
}
