/** Cookie headers longer than this are not examined (browsers cap one cookie at 4 KiB). */
export const MAX_COOKIE_HEADER_LENGTH = 16 * 1024;

/**
 * The values of up to `max` cookies called `name` in a Cookie header, in order. Only a whole
 * cookie name counts (at the start or after `;`), so `xryow_until=` is not `ryow_until=`.
 */
export function cookieValues(header: string, name: string, max: number): string[] {
  const values: string[] = [];
  const needle = `${name}=`;
  let from = 0;
  while (values.length < max) {
    const at = header.indexOf(needle, from);
    if (at === -1) break;
    from = at + needle.length;
    let before = at - 1;
    while (before >= 0 && (header[before] === " " || header[before] === "\t")) before--;
    if (before >= 0 && header[before] !== ";") continue;
    const end = header.indexOf(";", from);
    values.push(header.slice(from, end === -1 ? header.length : end).trim());
  }
  return values;
}
